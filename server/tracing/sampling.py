"""Generating text: a SampleRequest checked once, then engine.sample.sample_steps named.

The prime goes through the trace's own path (server.tracing.request.prepare: length, tokens,
unknown tokens), so a text that traces also primes; its messages say "prime" for "text". Only
language models sample (engine.sample.sampling_refusal says why another cannot). The trace
service runs `run` in a trace process (server.tracing.process.sample) or a thread, under the
trace bound.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.sample import SamplingError, sample_steps, sampling_refusal
from server.core import limits
from server.core.errors import ApiError
from server.core.responses import dumps
from server.core.schemas import SampleRequest, TraceRequest
from server.core.settings import Settings
from server.models.registry import Entry, Registry
from server.tracing import request
from server.tracing.request import Prepared


@dataclass
class PreparedSample:
    prime: Prepared  # the prime, prepared as a trace's text is
    request: SampleRequest

    @property
    def entry(self) -> Entry:
        return self.prime.entry

    def without_entry(self) -> PreparedSample:
        """What is pickled to a trace process, which looks the model up itself."""
        return replace(self, prime=self.prime.without_entry())

    def with_entry(self, registry: Registry) -> PreparedSample:
        """Back in a trace process: the same model, at the same version (else 409)."""
        return replace(self, prime=self.prime.with_entry(registry))


def prepare(req: SampleRequest, registry: Registry, s: Settings) -> PreparedSample:
    """Check the request against the limits and the model; 4xx errors as ApiError."""
    limits.check(req, s)
    entry = request.entry_for(registry, req.model)
    why = sampling_refusal(entry.model)
    if entry.labels:
        why = "it is a classifier, it predicts a label rather than the next token"
    if why is not None:
        raise ApiError(
            f"This model cannot generate text: {why}. Choose a language model (one that "
            "predicts the next token at every step)."
        )
    try:
        prime = request.prepare(
            TraceRequest(model=req.model, text=req.prime, flow=False), registry, s
        )
    except ApiError as e:
        message = str(e)
        if message.startswith("text"):
            message = "prime" + message.removeprefix("text")
        raise ApiError(message, e.status) from e
    request.check_work(entry, len(prime.tokens) + req.n, s)  # the prime's steps and n more
    return PreparedSample(prime, req)


def run(p: PreparedSample, form: str = "body") -> bytes | list[str]:
    """The generation serialised (here, off the event loop) as `form`: "body", the Sample body
    (server.core.schemas.Sample) as JSON; "frames", the WebSocket's JSON texts, one
    {"phase": "sample", ...step} per token, then {"phase": "sample-done", ...the rest}."""
    body = generate(p)
    if form == "body":
        return dumps(body)
    steps = body.pop("steps")
    frames = [{"phase": "sample", **step} for step in steps]
    frames.append({"phase": "sample-done", **body})
    return [dumps(f).decode() for f in frames]


def generate(p: PreparedSample) -> dict:
    """The generation as the Sample body (server.core.schemas.Sample)."""
    req, entry = p.request, p.entry
    model = entry.model
    try:
        frames, _ = sample_steps(
            model, p.prime.ids, req.n, req.temperature, seed=req.seed, top_k=req.top_k
        )
    except SamplingError as e:
        raise ApiError(f"This model cannot generate text: {e}.") from e
    names = entry.output_names()
    encoded = p.prime.encoded
    for frame in frames:
        if frame["t"] == 0:  # the prime's last token: as typed, and what the model read
            frame["input_token"], frame["input_seen_as"] = encoded.tokens[-1], encoded.seen[-1]
        else:
            frame["input_token"] = frame["input_seen_as"] = names[frame["input_index"]]
        frame["token"] = names[frame["id"]]
        for q in frame["top"]:
            q["token"] = names[q["index"]]
    ids = [f["id"] for f in frames]
    cfg = model.config
    return {
        "model": entry.id,
        "cell": cfg.cell,
        "task": entry.task,
        "vocab_kind": entry.vocab.level,
        "hidden_size": cfg.hidden_size,
        "gate_names": list(model.cells[-1][0].gate_names),
        "prime": p.prime.tokens,
        "prime_unknown": encoded.unknown_steps,
        "n": req.n,
        "temperature": req.temperature,
        "seed": req.seed,
        "tokens": [f["token"] for f in frames],
        "ids": ids,
        "text": entry.vocab.decode(ids),
        "steps": frames,
    }
