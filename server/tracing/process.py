"""What each trace process runs (server.tracing.pool starts them): its own registry, the build.

Started with the Settings (as JSON); each job is a Prepared trace without its model, which
the process looks up in its own registry (at the same version): a trace to build (`compute`),
a gradient check (`check_gradient`), live-typing steps (`live_steps`), a generation
(`sample`) or an encoder–decoder's or tree's trace (`model_kind_job`); the answer is
(True, result) or (False, (message, status)). The server and its own processes trust each
other; nothing a user sends is ever unpickled. Ctrl-C in the teacher's terminal reaches
every process of the group: the server stops its processes itself, so they ignore SIGINT
and print no traceback.
"""

from __future__ import annotations

import gc
import os
import signal

from server.core.settings import Settings
from server.models.limits import ModelLimits
from server.models.registry import Registry
from server.tracing import build
from server.tracing.request import Prepared, prepare

_settings: Settings | None = None
_registry: Registry | None = None


def start(settings_json: str) -> None:
    """The process's initializer: its settings and registry, then a warm-up."""
    global _settings, _registry
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _settings = Settings.model_validate_json(settings_json)
    _registry = Registry(_settings.data_dir, limits=ModelLimits.from_settings(_settings))
    warm_up(_registry, _settings)
    gc.freeze()  # the models and modules loaded so far are never scanned again


def ready() -> int:
    """Answered once the process has started and warmed up: its pid."""
    return os.getpid()


def compute(form: str, prepared: Prepared) -> tuple:
    return _answer(lambda: build.build(prepared.with_entry(_registry), _settings, form))


def compute_many(form: str, prepared: list[Prepared]) -> tuple:
    """The forward halves of many traces of one model (server.tracing.build.build_many):
    (True, [an answer per trace]), or (False, ...) if the model itself is not there."""
    return _answer(
        lambda: build.build_many([p.with_entry(_registry) for p in prepared], _settings, form)
    )


def check_gradient(prepared: Prepared, request) -> tuple:
    """A gradient check (server.tracing.gradcheck.check) of a prepared request."""
    from server.tracing import gradcheck

    return _answer(lambda: gradcheck.check(prepared.with_entry(_registry), request))


def live_steps(prepared: Prepared, *args) -> tuple:
    """Live typing's steps (server.tracing.build.live_steps) on the prepared trace's model."""
    return _answer(lambda: build.live_steps(prepared.with_entry(_registry).entry, *args))


def sample(prepared, form: str) -> tuple:
    """A generation (server.tracing.sampling.run) of a prepared sample request."""
    from server.tracing import sampling

    return _answer(lambda: sampling.run(prepared.with_entry(_registry), form))


def model_kind_job(name: str, prepared) -> tuple:
    """An encoder–decoder's trace or what-if, or a tree's trace (server.tracing.seq2seq,
    server.tracing.tree): `name` is one of KIND_JOBS."""
    fn = kind_jobs()[name]
    return _answer(lambda: fn(prepared.with_entry(_registry)))


def kind_jobs() -> dict:
    from server.tracing import seq2seq, tree

    return {"seq2seq": seq2seq.trace, "whatif": seq2seq.whatif_json, "tree": tree.trace}


def _answer(work) -> tuple:
    """build.answer, with Python's cyclic garbage collector paused for the job: a trace builds
    thousands of small dicts and lists that live until it is serialised, and the collections
    they set off (each scanning every object of the process) took about half the time of a
    burst's forward halves. They hold no cycles (reference counting frees them); whatever cycle
    a job makes is collected by the next collection after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return build.answer(work)
    finally:
        if enabled:
            gc.enable()


def warm_up(registry: Registry, settings: Settings) -> None:
    """Trace each demo model's example once, in every form: the first students of a class then
    do not pay for this process's first calls (about a third slower)."""
    from server.core.schemas import TraceRequest

    for entry in registry.list():
        if entry.source != "demo":
            continue
        try:
            request = TraceRequest(model=entry.id, text=entry.meta.get("example") or "")
            prepared = prepare(request, registry, settings)
            for form in build.FORMS:
                build.build(prepared, settings, form)
                if build.batchable(prepared, form):
                    build.build_many([prepared, prepared], settings, form)
        except ValueError:  # (ApiError too) only a warm-up: real traces will say what is wrong
            continue
