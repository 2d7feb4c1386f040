"""GET /api/bow and POST /api/bow/predict: the bag-of-words companions, for "order matters"."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from server.api.deps import RegistryDep, SettingsDep
from server.core.errors import ApiError
from server.core.schemas import refusals
from server.core.schemas.bow import BowPrediction, BowRequest, BowSummary
from server.models.bow_models import BowModels, predict

router = APIRouter(prefix="/api/bow", tags=["bag of words"])


def _models(request: Request) -> BowModels:
    return request.app.state.bow


@router.get("", response_model=list[BowSummary], summary="List the bag-of-words models")
async def list_bow(request: Request) -> list[dict]:
    """Each with its recurrent companion and both models' accuracy on the same sentences."""
    return [e.summary() for e in _models(request).list()]


@router.post(
    "/predict",
    response_model=BowPrediction,
    responses=refusals(404, 422),
    summary="A bag-of-words answer, beside its recurrent companion's",
)
async def predict_route(
    req: BowRequest, request: Request, registry: RegistryDep, settings: SettingsDep
) -> dict:
    """x = the sum of the tokens' one-hot rows (their order is lost), h = tanh(W x + b),
    p = softmax(U h + c); and the companion's many-to-one answer on the same tokens."""
    if len(req.text) > settings.max_text_chars:
        raise ApiError(
            f"The text has {len(req.text)} characters; at most {settings.max_text_chars} "
            "(setting max_text_chars).",
            422,
        )
    entry = _models(request).get(req.model)
    return predict(entry, registry, req.text, settings.max_tokens)
