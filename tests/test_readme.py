"""The README's engine example is the public contract: it must run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_engine_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README has no Python example"
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102
    grads, tape = namespace["grads"], namespace["tape"]
    assert grads.params["weight_hh"].shape == (32, 8)
    assert tape.h.shape == (5, 8)
