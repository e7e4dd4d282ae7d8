"""The return window's wait (``return_steps.await_returns``), parked beside the order and
released once: at once when there is nothing to wait for, by the return that brings the
last unit back, or by the step itself when that return closed the order while it parked.
On fakes; ``tests/contract/test_return_wait_on_dynamodb.py`` runs the same on moto."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import Conflict
from chalicelib.domain.orders import Order, OrderStatus
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.services import returns
from chalicelib.services.order_writes import Change, mutate
from chalicelib.services.return_steps import await_returns
from chalicelib.services.step_models import AwaitInput
from tests.fakes import Clock, FakeWorkflow
from tests.service import flows

CLOSED = {"already": "closed"}
RETURNED = {"returned": True}


def _workflow(deps: Deps) -> FakeWorkflow:
    assert isinstance(deps.workflow, FakeWorkflow)
    return deps.workflow


def _store_location(deps: Deps) -> str:
    return next(loc.location_id for loc in deps.store.locations() if loc.type.value == "store")


def _send_back(deps: Deps, order: Order, quantity: int) -> Order:
    """Ask for a return of ``quantity`` units of the first line and receive it in a store."""
    location = _store_location(deps)
    request = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": order.lines[0].sku, "quantity": quantity}],
            "reason": "too small",
            "channel": "store",
            "location_id": location,
        }
    )
    opened = returns.request_return(order.order_id, request, deps)
    return returns.receive_return(opened.return_id, location, deps)


def _park(deps: Deps, order: Order, token: str = "t-returns") -> None:
    await_returns(AwaitInput(order_id=order.order_id, task_token=token), deps)


def test_a_delivered_order_parks_its_wait_beside_the_order_not_on_it(deps: Deps) -> None:
    order = flows.delivered(deps)

    _park(deps, order)

    assert _workflow(deps).resumed == []
    after = deps.store.get_order(order.order_id)
    assert (after.version, after.returns_task_token) == (order.version, None)
    assert deps.store.return_wait(order.order_id) == "t-returns"


def test_nothing_delivered_releases_the_wait_at_once(deps: Deps) -> None:
    order = flows.shipped(deps)

    _park(deps, order)

    assert _workflow(deps).resumed == [("t-returns", CLOSED)]
    assert deps.store.return_wait(order.order_id) is None


def test_a_window_already_closed_releases_the_wait_at_once(deps: Deps) -> None:
    order = flows.delivered(deps)
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(days=deps.settings.return_window_days + 1)

    _park(deps, order)

    assert _workflow(deps).resumed == [("t-returns", CLOSED)]
    assert deps.store.return_wait(order.order_id) is None


def test_the_last_unit_back_releases_the_parked_wait_once(deps: Deps) -> None:
    order = flows.delivered(deps)
    _park(deps, order)
    quantity = order.lines[0].quantity
    assert quantity >= 2 and len(order.lines) == 1

    part = _send_back(deps, order, 1)
    assert part.status is OrderStatus.DELIVERED
    assert _workflow(deps).resumed == []

    rest = _send_back(deps, order, quantity - 1)
    assert rest.status is OrderStatus.RETURNED
    assert _workflow(deps).resumed == [("t-returns", RETURNED)]


def test_everything_back_while_the_step_parks_is_released_by_the_step(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = flows.delivered(deps)
    park = deps.store.park_return_wait

    def returned_meanwhile(*args: Any) -> None:
        # The last return lands after the step read the order and before its token is
        # parked: the return finds nothing to take.
        _send_back(deps, order, order.lines[0].quantity)
        park(*args)

    monkeypatch.setattr(deps.store, "park_return_wait", returned_meanwhile)
    _park(deps, order)

    assert deps.store.get_order(order.order_id).status is OrderStatus.RETURNED
    assert _workflow(deps).resumed == [("t-returns", CLOSED)]


def test_a_wait_parked_on_the_order_before_it_had_its_own_item_is_still_released(
    deps: Deps,
) -> None:
    order = flows.delivered(deps)

    def parked_in_the_older_form(current: Order) -> Change:
        current.returns_task_token = "t-on-the-order"
        return Change()

    mutate(deps, order.order_id, parked_in_the_older_form)

    _send_back(deps, order, order.lines[0].quantity)

    assert _workflow(deps).resumed == [("t-on-the-order", RETURNED)]
    assert deps.store.get_order(order.order_id).returns_task_token is None


class _Killed(BaseException):
    """A Lambda stopped by its timeout: no ``except Exception`` sees it."""


def test_a_receipt_that_died_before_releasing_the_wait_is_released_by_its_retry(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: the receipt wrote RETURNED, then its Lambda died before the wait was
    # released; the wait's token had been taken from the table, so the store's retry
    # (409) found nothing to release and the execution waited out the return window.
    order = flows.delivered(deps)
    _park(deps, order)
    location = _store_location(deps)
    request = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": order.lines[0].sku, "quantity": order.lines[0].quantity}],
            "reason": "too small",
            "channel": "store",
            "location_id": location,
        }
    )
    opened = returns.request_return(order.order_id, request, deps)
    resume = _workflow(deps).resume

    def dying(task_token: str, output: dict[str, Any]) -> bool:
        raise _Killed

    monkeypatch.setattr(_workflow(deps), "resume", dying)
    with pytest.raises(_Killed):
        returns.receive_return(opened.return_id, location, deps)
    monkeypatch.setattr(_workflow(deps), "resume", resume)
    assert _workflow(deps).resumed == []

    with pytest.raises(Conflict):
        returns.receive_return(opened.return_id, location, deps)
    with pytest.raises(Conflict):
        returns.receive_return(opened.return_id, location, deps)

    assert _workflow(deps).resumed == [("t-returns", RETURNED)]
