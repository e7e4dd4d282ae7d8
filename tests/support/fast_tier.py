"""The fast tier's guard, loaded by ``make test-fast`` (``pytest -p tests.support.fast_tier``).

The fast tier is domain and service tests on in-memory fakes; what makes ``make test`` take
minutes is moto and the local stack. If a fast-tier test module, fixture or test imports
either, or the composition root that builds the real boto3 adapters, the run fails and
names the module, so the tier cannot slowly grow back into what it replaced.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

# What a fast-tier test must never bring in: moto, the local stack (which boots moto), and
# the composition root (the app's deps on real boto3 clients).
FORBIDDEN = ("moto", "infra.local", "chalicelib.composition")
# The demo catalogue is plain data the fakes are loaded with too; it boots nothing.
ALLOWED = ("infra.local", "infra.local.demo_data")


def forbidden_imports() -> list[str]:
    """Which of ``FORBIDDEN`` (or a module inside one) has been imported so far."""
    return [
        prefix
        for prefix in FORBIDDEN
        if any(
            (name == prefix or name.startswith(f"{prefix}.")) and name not in ALLOWED
            for name in sys.modules
        )
    ]


_reported: set[str] = set()


def _refuse(when: str) -> None:
    """Fail the test that brought a forbidden module in (once: later tests find it loaded)."""
    found = [name for name in forbidden_imports() if name not in _reported]
    if found:
        _reported.update(found)
        pytest.fail(
            f"the fast tier imported {', '.join(found)} {when}: move the test to a folder "
            "that runs on moto, or mark it `moto`",
            pytrace=False,
        )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Test modules and conftests are imported by now."""
    found = forbidden_imports()
    if found:
        raise pytest.UsageError(
            f"the fast tier imported {', '.join(found)} while collecting: move the module "
            "that imports it to a folder that runs on moto, or import it inside a test "
            "marked `moto`"
        )


@pytest.fixture(autouse=True)
def _no_moto_in_the_fast_tier() -> Iterator[None]:
    """After each test: a fixture or the test itself may import lazily."""
    yield
    _refuse("during this test")
