"""Every self-service action on every order state a customer can meet, over HTTP: the
JSON ``actions`` each state advertises (pinned per state below), a 409 that changes
nothing for each action not advertised, and the documented answer for each one that is
(API.md "The customer's own page"; issue 12, "Tests and figures").

ACCEPTED, PAID and RESERVED last a blink in a running execution, so their orders are
placed with the execution held (``place_held``) and, for PAID and RESERVED, the
workflow's own payment and reservation steps are run by hand: the same writes, at rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest

from chalicelib.services import payment_steps, self_service, stock_steps
from chalicelib.services.step_models import OrderStep
from chalicelib.services.tracking import tracking_url
from tests.api.test_api_self_service import PICKUP_LINE, ROUTES, actions, placed, post
from tests.support import STORE, assert_problem, eventually, order_body
from tests.support.api import customer_360, place_order
from tests.support.catalogue import fresh_sku
from tests.support.flow import (
    place_held,
    place_then_sell_out,
    post_carrier_event,
    return_at_store,
    tracking_number,
)
from tests.support.orders import wait_for_status

# The JSON code of each action, and the route that performs it.
ROUTE = {"cancel": "cancel", "return": "returns", "ticket": "tickets", "pay": "payment"}
# What an advertised action answers (API.md).
ANSWER = {"cancel": 200, "return": 201, "ticket": 201, "pay": 202}
DECLINED = {"method": "card", "token": "tok_declined"}

Built = tuple[str, str]  # the order id and its tracking path
Builder = Callable[[Any, Any, Any], Built]


def _path(order_id: str, deps: Any) -> str:
    return urlparse(tracking_url(order_id, deps)).path


def _held(client: Any, deps: Any, settings: Any, *steps: Callable[..., Any]) -> Built:
    order_id = place_held(deps, order_body())
    for step in steps:
        step(OrderStep(order_id=order_id), deps)
    return order_id, _path(order_id, deps)


def accepted(client: Any, deps: Any, settings: Any) -> Built:
    return _held(client, deps, settings)


def paid(client: Any, deps: Any, settings: Any) -> Built:
    return _held(client, deps, settings, payment_steps.authorize_payment)


def reserved(client: Any, deps: Any, settings: Any) -> Built:
    return _held(client, deps, settings, payment_steps.authorize_payment, stock_steps.reserve_stock)


def ready_for_pickup(client: Any, deps: Any, settings: Any) -> Built:
    # Madrid's 72 h pick-up window is 12 s at the suite's scale: ten times that, so that
    # nobody's pick-up runs out while the test acts on it.
    settings.time_scale = settings.time_scale / 10
    return placed(client, "READY_FOR_PICKUP", lines=[PICKUP_LINE])


def shipped(client: Any, deps: Any, settings: Any) -> Built:
    order_id, path = placed(client, "SHIPPED")
    wait_for_status(client, order_id, "SHIPPED", settled=True)  # captured at hand-over
    return order_id, path


def delivered(client: Any, deps: Any, settings: Any) -> Built:
    order_id, path = shipped(client, deps, settings)
    post_carrier_event(client, tracking_number(deps.store.get_order(order_id)))
    wait_for_status(client, order_id, "DELIVERED", settled=True)
    return order_id, path


def returned(client: Any, deps: Any, settings: Any) -> Built:
    order_id, path = delivered(client, deps, settings)
    return_at_store(client, order_id, [{"sku": "TSHIRT-BLK-M", "quantity": 2}])
    wait_for_status(client, order_id, "RETURNED", settled=True)
    return order_id, path


def declined(client: Any, deps: Any, settings: Any) -> Built:
    return placed(client, "REJECTED", payment=DECLINED)


def out_of_stock(client: Any, deps: Any, settings: Any) -> Built:
    sku = fresh_sku(deps, {"WH-GETAFE": 1})
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    order_id = place_then_sell_out(deps, body, sku)
    wait_for_status(client, order_id, "REJECTED", settled=True)  # the void
    return order_id, _path(order_id, deps)


def cancelled(client: Any, deps: Any, settings: Any) -> Built:
    order_id, path = accepted(client, deps, settings)
    assert post(client, f"{path}/cancel", {}).status_code == 200
    return order_id, path


def not_collected(client: Any, deps: Any, settings: Any) -> Built:
    # Valencia's 48 h pick-up window is 8 s at the suite's scale: nobody collects.
    sku = fresh_sku(deps, {"ST-VALENCIA": 1})
    line = {"sku": sku, "quantity": 1, "fulfillment": "pickup", "location_id": "ST-VALENCIA"}
    body = order_body(lines=[line])
    body.pop("shipping_address")
    order_id = place_order(client, body)["order_id"]
    wait_for_status(client, order_id, "CANCELLED", settled=True)
    return order_id, _path(order_id, deps)


def anonymous_shipped(client: Any, deps: Any, settings: Any) -> Built:
    # A till sale shipped home with no customer named: nobody's record to put a ticket on
    # until its receipt is claimed.
    body = order_body(channel="store", store_id="ST-MADRID")
    body.pop("customer")
    order_id = place_order(client, body, auth=STORE)["order_id"]
    wait_for_status(deps, order_id, "SHIPPED", settled=True)
    return order_id, _path(order_id, deps)


@dataclass(frozen=True)
class State:
    """One state a customer can meet, with what its page must offer."""

    build: Builder
    status: str
    reason: str | None
    actions: tuple[str, ...]
    # Not advertised, yet answered 200 with the order unchanged: asking to cancel an
    # order already cancelled is the same answer again (test_api_self_service pins it).
    repeats: tuple[str, ...] = ()


# The table: every state, the JSON ``actions`` pinned in page order (cancel, return,
# ticket, pay). Cancel until anything ships; return only once delivered, in the window;
# pay only after a declined card, within 48 h; a ticket whenever the order has a
# customer (every web order; not an anonymous till sale).
STATES = {
    "accepted": State(accepted, "ACCEPTED", None, ("cancel", "ticket")),
    "paid": State(paid, "PAID", None, ("cancel", "ticket")),
    "reserved": State(reserved, "RESERVED", None, ("cancel", "ticket")),
    "ready_for_pickup": State(ready_for_pickup, "READY_FOR_PICKUP", None, ("cancel", "ticket")),
    "shipped": State(shipped, "SHIPPED", None, ("ticket",)),
    "delivered": State(delivered, "DELIVERED", None, ("return", "ticket")),
    "anonymous_shipped": State(anonymous_shipped, "SHIPPED", None, ()),
    "returned": State(returned, "RETURNED", None, ("ticket",)),
    "declined": State(declined, "REJECTED", "payment_declined", ("ticket", "pay")),
    "out_of_stock": State(out_of_stock, "REJECTED", "out_of_stock", ("ticket",)),
    "cancelled": State(cancelled, "CANCELLED", "customer_request", ("ticket",), ("cancel",)),
    "not_collected": State(not_collected, "CANCELLED", "not_collected", ("ticket",), ("cancel",)),
}


def snapshot(deps: Any, order_id: str) -> tuple[Any, ...]:
    """What a refused action must leave as it was."""
    order = deps.store.get_order(order_id)
    return (
        order.status.value,
        order.status_reason.value if order.status_reason else None,
        [r.return_id for r in order.returns],
        len(order.retries),
        order.payment.status.value,
    )


def ticket_ids(client: Any, deps: Any, order_id: str) -> list[str]:
    customer_id = deps.store.get_order(order_id).customer_id
    tickets = customer_360(client, customer_id)["tickets"]
    return [t["ticket_id"] for t in tickets if t["order_id"] == order_id]


@pytest.fixture
def wide_payment_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """48 h are 8 s at the suite's scale: too short to act in on a busy machine."""
    monkeypatch.setattr(self_service, "PAYMENT_RETRY_WINDOW", timedelta(days=3650))


@pytest.mark.usefixtures("wide_payment_window")
@pytest.mark.parametrize("name", sorted(STATES))
def test_each_state_offers_its_actions_refuses_the_others_and_does_the_offered(
    client: Any, deps: Any, settings: Any, name: str
) -> None:
    state = STATES[name]
    order_id, path = state.build(client, deps, settings)
    before = snapshot(deps, order_id)
    assert before[:2] == (state.status, state.reason), before
    assert actions(client, path) == list(state.actions)
    # The page's footer invites a question only where the page takes one (probe 199: an
    # anonymous till sale's page said "write to us from your order's page").
    page = client.http.get(path, headers={"Accept": "text/html"}).body.decode()
    assert ("Escríbenos desde la página de tu pedido" in page) is ("ticket" in state.actions)

    # Not offered: 409 and nothing changed (a repeated cancel answers the same order).
    for action in sorted(set(ROUTE) - set(state.actions)):
        response = post(client, f"{path}/{ROUTE[action]}", ROUTES[ROUTE[action]])
        if action in state.repeats:
            assert response.status_code == 200, response.body
            assert response.json_body["status"] == state.status
        else:
            assert_problem(response, 409)
        assert snapshot(deps, order_id) == before, action
    assert actions(client, path) == list(state.actions)

    # Offered: a ticket first (it changes nothing the other actions depend on), then the
    # one action that moves the order on, if the state offers one.
    if "ticket" in state.actions:
        opened = post(client, f"{path}/tickets", ROUTES["tickets"])
        assert opened.status_code == ANSWER["ticket"], opened.body
        assert opened.json_body["status"] == "open"
        assert opened.json_body["ticket_id"] in ticket_ids(client, deps, order_id)
        assert snapshot(deps, order_id) == before
        assert actions(client, path) == list(state.actions)

    for action in (a for a in state.actions if a != "ticket"):
        response = post(client, f"{path}/{ROUTE[action]}", ROUTES[ROUTE[action]])
        assert response.status_code == ANSWER[action], response.body
        order = deps.store.get_order(order_id)
        if action == "cancel":
            assert response.json_body["status"] == order.status.value == "CANCELLED"
        elif action == "return":
            assert response.json_body["status"] == "REQUESTED"
            assert [r.return_id for r in order.returns] == [response.json_body["return_id"]]
        else:
            assert response.json_body["order_id"] == order_id
            assert order.status.value != "REJECTED"
            assert [e.status.value for e in order.history][:3] == [
                "ACCEPTED",
                "REJECTED",
                "ACCEPTED",
            ]


def test_once_the_return_window_has_passed_a_return_is_neither_offered_nor_taken(
    client: Any, deps: Any, settings: Any
) -> None:
    # No window is shorter than a second: placed with a zero-day window, the order's
    # window closes one second after its delivery.
    settings.return_window_days = 0
    order_id, path = delivered(client, deps, settings)
    before = snapshot(deps, order_id)

    assert eventually(lambda: actions(client, path) == ["ticket"])

    assert_problem(post(client, f"{path}/returns", ROUTES["returns"]), 409)
    assert snapshot(deps, order_id) == before
    assert before[:3] == ("DELIVERED", None, [])


def test_once_the_payment_window_has_passed_paying_again_is_neither_offered_nor_taken(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id, path = placed(client, "REJECTED", payment=DECLINED)
    # A window that ended at the rejection itself: over by the time the customer looks.
    monkeypatch.setattr(self_service, "PAYMENT_RETRY_WINDOW", timedelta(0))
    before = snapshot(deps, order_id)

    assert actions(client, path) == ["ticket"]

    assert_problem(post(client, f"{path}/payment", ROUTES["payment"]), 409)
    assert snapshot(deps, order_id) == before
    assert before[:2] == ("REJECTED", "payment_declined")
