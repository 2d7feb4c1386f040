"""Every knob of the server in one place: read once from the environment (prefix `UNROLLED_`),
the command line overrides it, tests pass their own `Settings(...)` to `create_app`.

List settings come from the environment as JSON, e.g.
`UNROLLED_ALLOWED_ORIGINS='["http://class.example:8000"]'`.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """The platform's per-user data folder (platformdirs: ~/.local/share/unrolled on Linux)."""
    return Path(platformdirs.user_data_dir("unrolled", appauthor=False))


class Settings(BaseSettings):
    """Server settings. Each field is also the environment variable `UNROLLED_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="UNROLLED_", extra="ignore")

    # -- serving ------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 for a classroom).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    workers: int = Field(1, ge=1, le=64, description="Worker processes (uvicorn --workers).")
    reload: bool = Field(False, description="Restart when the source changes (development).")
    open_browser: bool = Field(True, description="Open the page in a browser once serving.")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where trained and imported models are kept (survives restarts).",
    )

    # -- request limits -------------------------------------------------------------------
    max_text_chars: int = Field(2000, ge=1, description="Longest text accepted for a trace.")
    max_tokens: int = Field(500, ge=1, description="Most tokens (time steps) in one trace.")
    max_body_bytes: int = Field(
        65536, ge=1024, description="Largest request body (JSON) in bytes; more gives 413."
    )
    max_top_k: int = Field(20, ge=1, description="Most predictions listed per step.")
    max_work: float = Field(
        5e7,
        gt=0,
        description="Most work in one trace, gradient check or live-typing message: steps x "
        "layers x directions x gates x H^2 (gates: RNN 1, GRU 3, LSTM 4); 422 beyond. 5e7 is "
        "about half a second of one core for a trace (more for the largest models).",
    )
    api_rate: float = Field(
        5.0,
        gt=0,
        description="Expensive HTTP requests (trace, gradient check, import) per second per "
        "client address, on average; 429 with Retry-After beyond.",
    )
    api_burst: int = Field(
        30, ge=1, description="How many expensive HTTP requests a client may send at once."
    )
    gradcheck_memory_mb: int = Field(
        1024,
        ge=1,
        description="Memory the gradient checks running at once may hold together, in MB (a "
        "check holds about four times the model's parameters); others wait, one that alone "
        "needs more is refused.",
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a client may take to send a request's headers (from connecting, "
        "or from the end of its last answer); the connection is closed after.",
    )
    body_timeout: float = Field(
        60.0, gt=0, description="Seconds a client may take to send a whole request body (408)."
    )
    flow_limit: int = Field(
        200, ge=0, description="Gradient-flow matrix (T x T) only when T <= this; else null."
    )
    trace_processes: int = Field(
        2,
        ge=0,
        le=64,
        description="Worker processes computing traces (0 = threads in the server process).",
    )
    max_concurrent_traces: int = Field(
        8,
        ge=1,
        description="Traces computed at once (a semaphore); others wait their turn. With worker "
        "processes, up to this many are queued in the workers, so none waits for the server "
        "to hand it the next (8 for 2 workers measured best; 4 was ~20% slower in a burst).",
    )
    trace_cache_mb: int = Field(
        64,
        ge=0,
        description="Memory for recent traces per process, and in each trace worker for forward "
        "passes awaiting their backward half, in MB (0 = no cache).",
    )

    # -- training -------------------------------------------------------------------------
    train_max_hidden: int = Field(128, ge=1, description="Largest hidden size a job may train.")
    train_max_layers: int = Field(3, ge=1, description="Most stacked layers a job may train.")
    train_max_steps: int = Field(5000, ge=1, description="Most optimisation steps in one job.")
    train_max_text_chars: int = Field(
        20000, ge=1, description="Longest text a user may give to train a char model on."
    )
    max_training_jobs: int = Field(2, ge=1, description="Training jobs running at once.")

    # -- websockets -----------------------------------------------------------------------
    ws_max_message_bytes: int = Field(
        16384,
        ge=256,
        description="Largest WebSocket message from a client: bigger ones get an error; "
        "4x bigger close the socket.",
    )
    ws_rate: float = Field(
        20.0, gt=0, description="Messages per second a socket may send (burst of twice that)."
    )
    ws_idle_timeout: float = Field(
        600.0, gt=0, description="Seconds without a client message before the socket is closed."
    )

    # -- uploads --------------------------------------------------------------------------
    upload_max_bytes: int = Field(
        20_000_000, ge=1024, description="Largest model file accepted by /api/models/import."
    )

    # -- models (imported, trained, and every file the registry reads) ---------------------
    import_max_hidden: int = Field(2048, ge=1, description="Largest hidden size of a model file.")
    import_max_layers: int = Field(8, ge=1, description="Most stacked layers of a model file.")
    import_max_parameters: int = Field(
        5_000_000,
        ge=1,
        description="Most parameters (numbers) in one model file, read from the metadata and "
        "the array headers before anything is allocated.",
    )
    import_max_vocab: int = Field(
        50_000, ge=1, description="Most tokens in a model's vocabulary (and most class labels)."
    )
    max_user_models: int = Field(
        200, ge=0, description="Most trained and imported models kept; more are refused (409)."
    )
    max_user_models_mb: int = Field(
        1000, ge=0, description="Most disk space for trained and imported models, in MB (409)."
    )

    # -- browser security -----------------------------------------------------------------
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Pages (exact scheme://host:port) allowed to open the WebSocket and to send "
        "state-changing requests, besides the server's own. Empty = the served address and its "
        "localhost/127.0.0.1/[::1] equivalents.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="More Host names to answer besides the trusted ones (loopback, this "
        'machine\'s names and addresses, *.local): exact names or "*.domain"; "*" answers any '
        "name (turns the DNS-rebinding check off).",
    )
    frame_ancestors: str = Field(
        "*", description="CSP frame-ancestors for /embed (who may put the widget in an iframe)."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS for /api; empty = CORS off."
    )

    def limits(self) -> dict:
        """The limits the page needs to know (rendered into the template)."""
        return {
            "max_text_chars": self.max_text_chars,
            "max_tokens": self.max_tokens,
            "max_top_k": self.max_top_k,
            "train_max_hidden": self.train_max_hidden,
            "train_max_layers": self.train_max_layers,
            "train_max_steps": self.train_max_steps,
        }
