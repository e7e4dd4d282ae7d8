"""The ops timeline shows each return: asked for (what, how, where to), then received (where,
and the refund). A probe found a returned order whose only trace was its RETURNED status."""

from __future__ import annotations

from chalicelib.deps import Deps
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.services import console, returns
from tests.fakes import FakeGateway
from tests.service import flows


def test_a_return_is_on_the_timeline_when_asked_for_and_when_received(deps: Deps) -> None:
    order = flows.delivered(deps)
    request = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
            "reason": "too small",
            "channel": "store",
            "location_id": "ST-MADRID",
        }
    )
    opened = returns.request_return(order.order_id, request, deps)
    asked = [
        e for e in console.order_timeline(order.order_id, deps)["entries"] if e["kind"] == "return"
    ]
    assert [(e["title"], e["detail"]) for e in asked] == [
        ("return requested", f"{opened.return_id}: 1 x TSHIRT-BLK-M by store to ST-MADRID")
    ]

    returns.receive_return(opened.return_id, "ST-MADRID", deps)

    entries = console.order_timeline(order.order_id, deps)["entries"]
    received = [e for e in entries if e["title"] == "return received"]
    refund = deps.store.get_order(order.order_id).returns[0].refund
    assert refund is not None and refund.amount > 0
    assert [e["detail"] for e in received] == [
        f"{opened.return_id} at ST-MADRID; refund {refund.amount} EUR"
    ]
    titles = [e["title"] for e in entries]
    assert titles.index("return requested") < titles.index("return received")


def test_a_refund_still_owed_says_so_on_the_timeline(deps: Deps) -> None:
    order = flows.delivered(deps)
    request = RequestReturnRequest.model_validate(
        {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}], "reason": "x", "channel": "mail"}
    )
    opened = returns.request_return(order.order_id, request, deps)
    gateway = deps.payments
    assert isinstance(gateway, FakeGateway)
    gateway.unavailable = 10

    returns.receive_return(opened.return_id, "ST-MADRID", deps)

    (received,) = [
        e
        for e in console.order_timeline(order.order_id, deps)["entries"]
        if e["title"] == "return received"
    ]
    assert received["detail"].endswith("(owed: the gateway failed, the sweeper retries)")
