"""infra/local/lambda_adaptations.import_lazy_modules_up_front: the local stack runs Lambda
invocations as threads of one process, where two of them importing Babel at once raised
``_DeadlockError`` (a 500 on the tracking page) or met a partially initialised module (a
failed email). The stack imports what the app imports lazily before it serves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra.local.lambda_adaptations import lazily_imported_modules

ROOT = Path(__file__).resolve().parents[2]
RACED = ["babel", "babel.dates", "babel.numbers", "jinja2", "email_validator"]


def test_the_app_s_lazy_imports_are_found_in_its_source() -> None:
    found = lazily_imported_modules()
    assert set(RACED) <= set(found)
    assert "chalicelib.rendering" in found


def test_the_stack_has_imported_them_before_it_serves(tmp_path: Path) -> None:
    # A fresh interpreter: nothing of the test run is imported yet.
    script = f"""
import json, sys
from infra.local.stack import LocalStack, free_port
before = [m for m in {RACED!r} if m in sys.modules]
from pathlib import Path
stack = LocalStack(port=free_port(), outbox=Path({str(tmp_path)!r}), demo_data=False).start()
try:
    seen = {{"before": before, "after": [m for m in {RACED!r} if m in sys.modules]}}
    Path({str(tmp_path / "seen.json")!r}).write_text(json.dumps(seen))
finally:
    stack.stop()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Read from a file: the stack's server thread prints on stdout too, and a print from
    # another thread can land between a line and its newline (failed a clean-clone run).
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["before"] == []
    assert seen["after"] == RACED
