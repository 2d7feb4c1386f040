"""Request and response bodies of the API, as they appear in the OpenAPI schema, one module per
resource. Limits that come from the Settings (text length, top_k, training sizes, ...) are not
written here: server.core.limits checks them and writes them into the schema."""

from server.core.schemas.errors import ERROR_RESPONSES, ErrorBody, refusals
from server.core.schemas.models import Health, ModelDetail, ModelSummary, Stats
from server.core.schemas.projection import Projection, ProjectionReference
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
from server.core.schemas.seq2seq import (
    Seq2SeqTrace,
    Seq2SeqTraceRequest,
    Seq2SeqWhatIf,
    Seq2SeqWhatIfRequest,
    TreeTrace,
    TreeTraceRequest,
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
from server.core.schemas.training import (
    TrainPreset,
    TrainRequest,
    TrainSnapshot,
    TrainStatus,
    TrainTask,
)

__all__ = [
    "Projection",
    "ProjectionReference",
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
    "TrainPreset",
    "TrainRequest",
    "TrainSnapshot",
    "TrainStatus",
    "TrainTask",
    "Prediction",
    "TraceStep",
    "TraceBackwardStep",
    "Truncation",
    "Trace",
    "Gradcheck",
    "Seq2SeqTraceRequest",
    "Seq2SeqWhatIfRequest",
    "Seq2SeqTrace",
    "Seq2SeqWhatIf",
    "TreeTraceRequest",
    "TreeTrace",
    "RoomCreated",
    "RoomInfo",
    "RoomPublish",
    "RoomPublished",
    "RoomClosed",
    "ErrorBody",
    "ERROR_RESPONSES",
    "refusals",
]
