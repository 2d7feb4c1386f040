"""The HTTP and WebSocket API: deps, one router per resource, the WebSocket session."""
