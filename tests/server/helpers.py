"""Small helpers shared by the server tests."""


def trace_body(model: str = "rnn-hello", text: str = "hell", **extra) -> dict:
    """A POST /api/trace body (also a WebSocket trace message)."""
    return {"model": model, "text": text, **extra}
