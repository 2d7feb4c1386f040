"""The built wheel carries the page (static/, templates/) and the demo models, and the app
finds them from any working directory — a plain `pip install .` must work, not only a checkout."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    (whl,) = out.glob("unrolled-*.whl")
    return whl


def test_wheel_contains_page_templates_and_demo_models(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "server/templates/index.html" in names
    assert "server/templates/embed.html" in names
    assert any(n.startswith("server/static/js/") and n.endswith(".js") for n in names)
    assert any(n.startswith("server/static/css/") for n in names)
    assert any(n.startswith("server/demo_models/") and n.endswith(".npz") for n in names)
    assert "engine/__init__.py" in names
    assert "server/web/swagger-init.js" in names  # /docs starts Swagger UI with it
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "unrolled = server.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_app_serves_page_from_another_directory(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "from fastapi.testclient import TestClient\n"
        "import server\n"
        "from server.app import create_app\n"
        "from server.core.settings import Settings\n"
        f"assert server.__file__.startswith({str(site)!r}), server.__file__\n"
        f"app = create_app(Settings(data_dir={str(tmp_path / 'data')!r}))\n"
        "with TestClient(app, base_url='http://localhost') as c:\n"
        "    page = c.get('/')\n"
        "    assert page.status_code == 200, page.status_code\n"
        "    assert 'Unrolled' in page.text\n"
        "    models = c.get('/api/models').json()\n"
        "    assert {m['cell'] for m in models} >= {'rnn', 'lstm', 'gru'}, models\n"
        "print('ok')\n"
    )
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
