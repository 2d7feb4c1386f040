"""POST /api/seq2seq/trace and /api/seq2seq/whatif: an encoder–decoder, forward and backward,
and the attention what-if (docs/contracts.md sections 9 and 10)."""

from fastapi import APIRouter
from fastapi.responses import Response

from server.api.deps import RateLimited, RegistryDep, SettingsDep, TracesDep
from server.core.schemas import (
    Seq2SeqTrace,
    Seq2SeqTraceRequest,
    Seq2SeqWhatIf,
    Seq2SeqWhatIfRequest,
    refusals,
)
from server.tracing import seq2seq

router = APIRouter(prefix="/api/seq2seq", tags=["seq2seq"])


@router.post(
    "/trace",
    dependencies=[RateLimited],
    response_model=Seq2SeqTrace,
    responses=refusals(404, 413, 422, 429),
    summary="Trace a source text through an encoder–decoder, forward and backward",
)
async def trace(
    req: Seq2SeqTraceRequest, registry: RegistryDep, settings: SettingsDep, traces: TracesDep
) -> Response:
    """The encoder reads the source from a zero state; its final state, the context vector,
    starts the decoder, which reads <bos> and then the target (teacher forcing) or its own
    choices (decoding, without a target). Returns every encoder and decoder step's state and
    gates, with attention each decoder step's scores, α, ctx_t and h̃_t, the top predictions
    and losses, and the backward pass: dL/dh_t per decoder step, dL/d(context), and dL/dh̄_s per
    encoder step split into the part through the attention and the part through the
    recurrence. Runs off the event loop, under the same bound as traces."""
    prepared = seq2seq.prepare(req, registry, settings)
    return Response(await traces.model_kind("seq2seq", prepared), media_type="application/json")


@router.post(
    "/whatif",
    dependencies=[RateLimited],
    response_model=Seq2SeqWhatIf,
    responses=refusals(404, 413, 422, 429),
    summary="Decode one step with the attention weights replaced (an intervention)",
)
async def whatif(
    req: Seq2SeqWhatIfRequest, registry: RegistryDep, settings: SettingsDep, traces: TracesDep
) -> Response:
    """The same trace as /api/seq2seq/trace with the same fields, then decoder step t
    recomputed with α_t replaced by `alpha` (or all the weight on source position `focus`):
    ctx'_t = Σ α'_ts h̄_s, h̃'_t = tanh(W_c [ctx'_t; h_t] + b_c), and its prediction beside the
    model's own. Not what the model computes: an intervention. When the model decodes
    greedily, the decoding continues from the new prediction (`continuation`)."""
    prepared = seq2seq.prepare_whatif(req, registry, settings)
    return Response(await traces.model_kind("whatif", prepared), media_type="application/json")
