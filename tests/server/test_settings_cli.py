"""Settings from the environment, the command line, and docs that cover every knob."""

import re
from pathlib import Path

import pytest

from server import cli
from server.app import create_app
from server.core.settings import Settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "server.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert f"`{name}`" in DOC and f"`UNROLLED_{name.upper()}`" in DOC, name


def test_every_endpoint_is_documented(tmp_path):
    app = create_app(Settings(data_dir=tmp_path))
    paths = set(app.openapi()["paths"])
    paths |= {"/ws", "/ws/train/{job}", "/", "/embed", "/favicon.svg"}
    for path in paths:
        shown = path.replace("{model_id}", "{id}").replace("{job_id}", "{job}")
        assert f"`{shown}`" in DOC or f" {shown}`" in DOC, path


def test_every_api_operation_has_a_summary_and_response_model(tmp_path):
    schema = create_app(Settings(data_dir=tmp_path)).openapi()
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
            assert "content" in ok, (method, path)


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("UNROLLED_MAX_TEXT_CHARS", "123")
    monkeypatch.setenv("UNROLLED_ALLOWED_ORIGINS", '["http://a.example:1"]')
    s = Settings()
    assert s.max_text_chars == 123 and s.allowed_origins == ["http://a.example:1"]


def test_command_line_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("UNROLLED_PORT", "9000")
    s = cli.settings_from(
        cli.parse_args(
            ["--port", "0", "--no-browser", "--workers", "2", "--data-dir", str(tmp_path)]
        )
    )
    assert s.port == 0 and s.open_browser is False and s.workers == 2 and s.data_dir == tmp_path
    assert cli.settings_from(cli.parse_args([])).port == 9000


def test_default_data_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("UNROLLED_DATA_DIR", raising=False)
    assert Settings().data_dir == tmp_path / "unrolled"


def test_port_zero_binds_a_real_port():
    sock = cli.bind("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert port > 0
        assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/", cli.page_url("127.0.0.1", port))
        assert cli.page_url("0.0.0.0", port) == f"http://127.0.0.1:{port}/"
    finally:
        sock.close()


def test_browser_opens_once_the_server_answers(monkeypatch):
    opened = []
    monkeypatch.setattr(cli.webbrowser, "open", opened.append)
    sock = cli.bind("127.0.0.1", 0)
    sock.listen()
    port = sock.getsockname()[1]
    try:
        cli.open_when_ready("127.0.0.1", port, f"http://127.0.0.1:{port}/", timeout=5)
        import time

        deadline = time.monotonic() + 5
        while not opened and time.monotonic() < deadline:
            time.sleep(0.02)
        assert opened == [f"http://127.0.0.1:{port}/"]
    finally:
        sock.close()


def test_busy_port_gives_a_clear_message(capsys):
    sock = cli.bind("127.0.0.1", 0)
    sock.listen()
    try:
        with pytest.raises(SystemExit) as e:
            cli.main(["--port", str(sock.getsockname()[1]), "--no-browser"])
        assert "cannot listen" in str(e.value.code)
    finally:
        sock.close()
