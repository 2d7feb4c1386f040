"""POST /api/sample: generate text from a language model, one token at a time."""

from fastapi import APIRouter
from fastapi.responses import Response

from server.api.deps import RateLimited, TracesDep
from server.core.schemas import Sample, SampleRequest, refusals

router = APIRouter(prefix="/api", tags=["sample"])


@router.post(
    "/sample",
    dependencies=[RateLimited],
    response_model=Sample,
    responses=refusals(404, 413, 422, 429),
    summary="Generate text from a language model, step by step",
)
async def sample(req: SampleRequest, traces: TracesDep) -> Response:
    """Feeds the prime, then draws n tokens from p = softmax(z / temperature), each one fed
    back in as the next input (temperature 0: the most likely token). Every step says what was
    fed in, the hidden state, the top_k tokens before and after the temperature and the one
    drawn. Seeded: the same request gives the same text. Runs off the event loop, under the
    same bound as traces."""
    body = await traces.sample(req, "body")
    # Serialised by orjson in the worker thread; response-model validation is skipped (large).
    return Response(body, media_type="application/json")
