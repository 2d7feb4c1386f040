"""Property-based requests from the OpenAPI schema: whatever they send, no 5xx."""

import tempfile

import schemathesis
from hypothesis import HealthCheck, settings

from server.app import create_app
from server.core.settings import Settings

# Small limits keep generated training jobs short; the data dir is thrown away.
app = create_app(
    Settings(
        data_dir=tempfile.mkdtemp(prefix="unrolled-schemathesis-"),
        train_max_steps=20,
        train_max_hidden=16,
        max_training_jobs=50,
        trace_processes=0,
        api_rate=1e6,
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.status_code >= 400:
        assert isinstance(response.json()["detail"], str)
