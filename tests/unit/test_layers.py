"""The layers hold: services and the domain depend on ports, never on adapters."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUARDED = ("chalicelib/services", "chalicelib/domain")


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any level (function-level and TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def adapter_imports(folder: str) -> dict[str, list[str]]:
    """Modules under ``folder`` that import ``chalicelib.adapters``, with what they import."""
    offenders: dict[str, list[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        bad = sorted(m for m in _imported_modules(path) if m.startswith("chalicelib.adapters"))
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    return offenders


def test_services_and_domain_import_no_adapter() -> None:
    offenders = {name: mods for folder in GUARDED for name, mods in adapter_imports(folder).items()}
    assert offenders == {}


def test_the_walk_finds_an_adapter_import_wherever_it_hides(tmp_path: Path) -> None:
    module = tmp_path / "service.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from chalicelib.adapters.secrets import Keyring\n"
        "def late():\n"
        "    import chalicelib.adapters.carriers\n"
    )
    assert _imported_modules(module) >= {
        "chalicelib.adapters.secrets",
        "chalicelib.adapters.carriers",
    }


def test_the_domain_imports_no_service_and_no_port() -> None:
    for path in (ROOT / "chalicelib/domain").rglob("*.py"):
        upward = [
            m
            for m in _imported_modules(path)
            if m.startswith(("chalicelib.services", "chalicelib.ports", "chalicelib.adapters"))
        ]
        assert upward == [], path
