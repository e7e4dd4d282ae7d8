"""The local stack as a newcomer runs it: ``python -m infra.local`` in its own process, on
free ports, driven only over HTTP.

One process serves every acceptance test (session scope; the tests share one xdist group,
so they all run in the same worker). Tests stay independent by using fresh customers,
fresh idempotency keys and SKUs of their own.

Waits: ``ORQUESTA_TIME_SCALE=1200`` makes the express carrier's 24 h promise 72 s, a store's
48 h pick-up window 144 s and the 30-day return window 36 minutes, so nothing a test acts
within runs out under it, even on a slow, busy machine. ``ORQUESTA_HANDLING_SECONDS=6000``
(100 minutes of picking, 5 s here) leaves a placed order cancellable for a few seconds
before it ships; every test that waits for SHIPPED waits that much longer.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.shop import RunningStack, Shop
from tests.support.stack_process import start_stack, stop_stack

TIME_SCALE = 1200
HANDLING_SECONDS = 5 * TIME_SCALE
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep ``xdist_group`` tests in one worker under ``--dist loadgroup``.

    pytest-xdist 3.8 groups tests by appending ``@<group>`` to ``item._nodeid`` in the
    worker, but pytest 9.2 keeps node ids in ``item._id``, so the suffix is lost and grouped
    tests are spread over every worker (each acceptance worker would start its own stack).
    This does what xdist means to, once, for any test that carries the mark."""
    if not config.getoption("loadgroup", default=False) or not hasattr(config, "workerinput"):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        if not names:
            continue
        suffix = f"@{'_'.join(names)}"
        if not item.nodeid.endswith(suffix):
            item._id = NodeId.parse(f"{item.nodeid}{suffix}")  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """``python -m infra.local`` on free ports with demo data; stopped with SIGTERM after
    the last acceptance test, which must end it cleanly (exit code 0)."""
    stack = start_stack(
        tmp_path_factory.mktemp("local-stack"), TIME_SCALE, HANDLING_SECONDS, START_TIMEOUT
    )
    yield stack
    code = stop_stack(stack, STOP_TIMEOUT)
    assert code == 0, (
        f"the stack did not stop cleanly on SIGTERM within {STOP_TIMEOUT} s "
        f"(exit code {code}):\n{stack.stderr_tail(30000)}"
    )
    assert "stopping" in stack.stdout()


@pytest.fixture
def shop(local_stack: RunningStack) -> Shop:
    """The running stack's API and outbox."""
    return Shop(url=local_stack.url, outbox=local_stack.outbox)
