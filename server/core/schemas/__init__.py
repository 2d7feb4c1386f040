"""Request and response bodies of the API, as they appear in the OpenAPI schema, one module per
resource. Limits that come from the Settings (text length, top_k, training sizes, ...) are not
written here: server.core.limits checks them and writes them into the schema."""

from server.core.schemas.errors import ERROR_RESPONSES, ErrorBody, refusals
from server.core.schemas.models import Health, ModelDetail, ModelSummary, Stats
from server.core.schemas.rooms import (
    RoomClosed,
    RoomCreated,
    RoomInfo,
    RoomPublish,
    RoomPublished,
)
from server.core.schemas.run import (
    MAX_STATE_CELLS,
    MAX_STATE_SIZE,
    GradcheckRequest,
    InitialState,
    PerCell,
    RunRequest,
    TraceRequest,
    Vector,
)
from server.core.schemas.sample import (
    MAX_TEMPERATURE,
    Sample,
    SamplePrediction,
    SampleRequest,
    SampleStep,
)
from server.core.schemas.text import CellKind, Source, check_text
from server.core.schemas.trace import (
    Gradcheck,
    Prediction,
    Trace,
    TraceBackwardStep,
    TraceStep,
    Truncation,
)
from server.core.schemas.training import TrainRequest, TrainStatus, TrainTask

__all__ = [
    "CellKind",
    "Source",
    "check_text",
    "MAX_STATE_SIZE",
    "MAX_STATE_CELLS",
    "Vector",
    "PerCell",
    "InitialState",
    "RunRequest",
    "TraceRequest",
    "GradcheckRequest",
    "MAX_TEMPERATURE",
    "SampleRequest",
    "SamplePrediction",
    "SampleStep",
    "Sample",
    "Health",
    "Stats",
    "ModelSummary",
    "ModelDetail",
    "TrainRequest",
    "TrainStatus",
    "TrainTask",
    "Prediction",
    "TraceStep",
    "TraceBackwardStep",
    "Truncation",
    "Trace",
    "Gradcheck",
    "RoomCreated",
    "RoomInfo",
    "RoomPublish",
    "RoomPublished",
    "RoomClosed",
    "ErrorBody",
    "ERROR_RESPONSES",
    "refusals",
]
