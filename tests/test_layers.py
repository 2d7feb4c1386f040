"""The layers import one way only (docs/architecture.md): no module imports a layer above it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A package may import itself and the packages listed after it; "engine" never imports server.
MAY_IMPORT = {
    "engine": {"engine"},
    "server.core": {"server.core", "engine"},
    "server.web": {"server.web", "server.core", "engine"},
    "server.models": {"server.models", "server.core", "engine"},
    "server.tracing": {"server.tracing", "server.models", "server.core", "engine"},
    "server.training": {"server.training", "server.models", "server.core", "engine"},
    "server.export": {
        "server.export",
        "server.tracing",
        "server.models",
        "server.web",
        "server.core",
        "engine",
    },
    "server.notebook": {
        "server.notebook",
        "server.export",
        "server.tracing",
        "server.models",
        "server.web",
        "server.core",
        "engine",
    },
    "server.rooms": {"server.rooms", "server.core", "engine"},
    "server.api": {
        "server.api",
        "server.rooms",
        "server.export",
        "server.tracing",
        "server.training",
        "server.models",
        "server.web",
        "server.core",
        "engine",
    },
}


def _package(module: str) -> str | None:
    for package in sorted(MAY_IMPORT, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    return None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {m for m in found if m.split(".")[0] in ("engine", "server")}


def _modules():
    for path in sorted((ROOT / "engine").rglob("*.py")) + sorted((ROOT / "server").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        package = _package(module)
        if package is not None:
            yield pytest.param(path, package, id=module)


@pytest.mark.parametrize(("path", "package"), list(_modules()))
def test_no_module_imports_a_layer_above_it(path, package):
    upward = set()
    for imported in _imports(path):
        target = _package(imported)
        if imported in ("server", "engine"):
            continue  # `from server import __version__` and the like
        if target is None or target not in MAY_IMPORT[package]:
            # a name imported from a package (`from server.tracing import build`) counts as
            # that package; anything else outside the allowed layers is upward
            if target is None and imported.rsplit(".", 1)[0] in MAY_IMPORT[package]:
                continue
            upward.add(imported)
    assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)} from above its layer"


def test_every_server_package_says_what_it_holds():
    for init in (ROOT / "server").glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.splitlines()) == 1, f"{init} needs a one-line docstring"
