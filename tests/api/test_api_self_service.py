"""The customer's own actions over HTTP, authorised by the tracking token alone:
forged tokens and bad input first, then each action on the states that allow it and on
those that no longer do (409)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest

from chalicelib.services import self_service
from tests.support import JSON, OPS, assert_problem, idempotency_key, order_body
from tests.support.api import customer_360, place_order
from tests.support.catalogue import fresh_sku
from tests.support.flow import post_carrier_event, tracking_number
from tests.support.orders import wait_for_status

PICKUP_LINE = {
    "sku": "TSHIRT-BLK-M",
    "quantity": 1,
    "fulfillment": "pickup",
    "location_id": "ST-MADRID",
}
ROUTES = {
    "cancel": {},
    "returns": {
        "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
        "reason": "size",
        "channel": "mail",
    },
    "tickets": {"subject": "Size", "description": "Is M a slim fit?"},
    "payment": {"payment": {"method": "card", "token": "tok_visa"}},
}


def placed(client: Any, *statuses: str, **overrides: Any) -> tuple[str, str]:
    """An order in one of ``statuses``: its id and its tracking path."""
    reply = place_order(client, order_body(**overrides))
    wait_for_status(client, reply["order_id"], *statuses)
    return reply["order_id"], urlparse(reply["tracking_url"]).path


def post(client: Any, path: str, body: Any, key: dict[str, str] | None = None) -> Any:
    headers = JSON | (idempotency_key() if key is None else key)
    return client.http.post(path, headers=headers, body=json.dumps(body))


def actions(client: Any, path: str) -> list[str]:
    response = client.http.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.body
    found: list[str] = response.json_body["actions"]
    return found


@pytest.fixture
def shipped(client: Any) -> tuple[str, str]:
    return placed(client, "SHIPPED")


@pytest.fixture
def declined(client: Any) -> tuple[str, str]:
    return placed(client, "REJECTED", payment={"method": "card", "token": "tok_declined"})


@pytest.fixture
def wide_payment_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' time scale makes the 48 hours 8 seconds: too short to act in on a busy
    machine. The boundary itself is tested on fakes (tests/service)."""
    monkeypatch.setattr(self_service, "PAYMENT_RETRY_WINDOW", timedelta(days=3650))


@pytest.mark.parametrize("action", sorted(ROUTES))
def test_a_forged_or_revoked_token_is_404_and_changes_nothing(
    client: Any, shipped: tuple[str, str], action: str
) -> None:
    order_id, path = shipped
    forged = path[:-1] + ("0" if path[-1] != "0" else "1")
    assert_problem(post(client, f"{forged}/{action}", ROUTES[action]), 404, "token")

    revoked = client.http.post(f"/ops/orders/{order_id}/tracking-token/revoke", headers=OPS)
    assert revoked.status_code == 200, revoked.body
    assert_problem(post(client, f"{path}/{action}", ROUTES[action]), 404, "token")


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("returns", {**ROUTES["returns"], "channel": "boat"}, "channel"),
        ("tickets", {"description": "no subject"}, "subject"),
        # A subject is one line: it becomes the ticket email's Subject: header.
        ("tickets", {**ROUTES["tickets"], "subject": "Hi\r\nBcc: x@evil.example"}, "subject"),
        ("tickets", {**ROUTES["tickets"], "subject": "Hi\u2028there"}, "subject"),
        ("payment", {"payment": {"method": "card"}}, "payment.token"),
    ],
)
def test_without_an_idempotency_key_bad_input_is_named_as_usual(
    client: Any, shipped: tuple[str, str], action: str, body: dict[str, Any], field: str
) -> None:
    # The key is optional here (API.md requires it on POST /orders only): its absence
    # neither refuses the request nor hides what is wrong with the body.
    _, path = shipped
    problem = assert_problem(post(client, f"{path}/{action}", body, key={}), 422, field)
    assert "Idempotency-Key" not in [error["field"] for error in problem["errors"]]


def test_a_malformed_idempotency_key_is_still_422_naming_it(
    client: Any, shipped: tuple[str, str]
) -> None:
    _, path = shipped
    response = post(client, f"{path}/tickets", ROUTES["tickets"], {"Idempotency-Key": " k "})
    assert_problem(response, 422, "Idempotency-Key")


def test_without_an_idempotency_key_each_ticket_is_its_own(
    client: Any, shipped: tuple[str, str], deps: Any
) -> None:
    order_id, path = shipped

    first = post(client, f"{path}/tickets", ROUTES["tickets"], key={})
    second = post(client, f"{path}/tickets", ROUTES["tickets"], key={})

    assert first.status_code == second.status_code == 201, (first.body, second.body)
    assert first.json_body["ticket_id"] != second.json_body["ticket_id"]
    customer_id = deps.store.get_order(order_id).customer_id
    tickets = customer_360(client, customer_id)["tickets"]
    assert sorted(t["ticket_id"] for t in tickets) == sorted(
        [first.json_body["ticket_id"], second.json_body["ticket_id"]]
    )


def test_a_ticket_key_reused_with_another_body_is_422_and_opens_nothing(
    client: Any, shipped: tuple[str, str], deps: Any
) -> None:
    order_id, path = shipped
    key = idempotency_key()
    first = post(client, f"{path}/tickets", ROUTES["tickets"], key)
    assert first.status_code == 201, first.body

    other = {**ROUTES["tickets"], "subject": "Colour"}
    assert_problem(post(client, f"{path}/tickets", other, key), 422, "Idempotency-Key")

    customer_id = deps.store.get_order(order_id).customer_id
    tickets = customer_360(client, customer_id)["tickets"]
    assert [(t["ticket_id"], t["subject"]) for t in tickets] == [
        (first.json_body["ticket_id"], "Size")
    ]


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("returns", {**ROUTES["returns"], "channel": "boat"}, "channel"),
        ("returns", {**ROUTES["returns"], "lines": []}, "lines"),
        (
            "returns",
            {**ROUTES["returns"], "lines": [{"sku": "X", "quantity": 0}]},
            "lines.0.quantity",
        ),
        ("tickets", {"description": "no subject"}, "subject"),
        # A subject is one line: it becomes the ticket email's Subject: header.
        ("tickets", {**ROUTES["tickets"], "subject": "Hi\r\nBcc: x@evil.example"}, "subject"),
        ("tickets", {**ROUTES["tickets"], "subject": "Hi\u2028there"}, "subject"),
        ("tickets", {**ROUTES["tickets"], "type": "bribe"}, "type"),
        ("payment", {"payment": {"method": "card"}}, "payment.token"),
        ("payment", {"payment": {"method": "cash", "token": "t"}}, "payment.method"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: Any, shipped: tuple[str, str], action: str, body: dict[str, Any], field: str
) -> None:
    order_id, path = shipped
    assert_problem(post(client, f"{path}/{action}", body), 422, field)
    assert wait_for_status(client, order_id, "SHIPPED")["returns"] == []


def test_a_shipped_order_cannot_be_cancelled_paid_again_or_returned_yet(
    client: Any, shipped: tuple[str, str]
) -> None:
    order_id, path = shipped
    assert actions(client, path) == ["ticket"]

    for action in ("cancel", "payment", "returns"):
        assert_problem(post(client, f"{path}/{action}", ROUTES[action]), 409)

    assert wait_for_status(client, order_id, "SHIPPED")["returns"] == []


def test_the_customer_cancels_a_pickup_waiting_in_store_and_asking_again_is_the_same(
    client: Any,
) -> None:
    order_id, path = placed(client, "READY_FOR_PICKUP", lines=[PICKUP_LINE])
    assert actions(client, path) == ["cancel", "ticket"]

    first = post(client, f"{path}/cancel", {})
    again = post(client, f"{path}/cancel", {})

    assert first.status_code == again.status_code == 200, first.body
    assert first.json_body["order_id"] == order_id
    assert first.json_body["status"] == again.json_body["status"] == "CANCELLED"
    assert actions(client, path) == ["ticket"]


def test_the_customers_cancel_answers_no_staff_note_or_internal_field(client: Any) -> None:
    """A probe: staff cancelled with a reason meant for staff, and the customer's cancel,
    which answers again whenever asked, showed it, with ops' attention, the sourcing
    reason, the execution's ARN and the gateway's dealings."""
    order_id, path = placed(client, "READY_FOR_PICKUP", lines=[PICKUP_LINE])
    staff_only = "STAFF-ONLY: flagged, do not serve"
    cancelled = client.http.post(
        f"/orders/{order_id}/cancel", headers=OPS | JSON, body=json.dumps({"reason": staff_only})
    )
    assert cancelled.status_code == 200, cancelled.body
    assert staff_only in json.dumps(cancelled.json_body)  # staff read it

    seen = post(client, f"{path}/cancel", {})

    assert seen.status_code == 200, seen.body
    body = seen.json_body
    assert (body["order_id"], body["status"]) == (order_id, "CANCELLED")
    assert staff_only not in json.dumps(body)
    assert all("note" not in entry for entry in body["history"])
    assert [body[name] for name in ("attention", "sourcing_reason", "execution_arn")] == [None] * 3
    assert {"payment_id", "owed"}.isdisjoint(body["payment"])
    assert body["payment"]["status"] == "VOIDED"


def test_the_customer_asks_for_a_return_once_delivered(client: Any, deps: Any) -> None:
    order_id, path = placed(client, "SHIPPED")
    post_carrier_event(client, tracking_number(deps.store.get_order(order_id)))
    wait_for_status(client, order_id, "DELIVERED")
    assert "return" in actions(client, path)
    key = idempotency_key()

    first = post(client, f"{path}/returns", ROUTES["returns"], key)
    again = post(client, f"{path}/returns", ROUTES["returns"], key)

    assert first.status_code == again.status_code == 201, first.body
    assert first.json_body["status"] == "REQUESTED"
    assert first.json_body == again.json_body
    order = deps.store.get_order(order_id)
    assert [r.return_id for r in order.returns] == [first.json_body["return_id"]]
    # The page says where to post it: the warehouse its parcel left from.
    page = client.http.get(path, headers={"Accept": "text/html"}).body.decode()
    assert "Almacén Getafe, Calle de la Confianza 14, 28906 Getafe" in page
    assert first.json_body["return_id"] in page
    # The same key with another body is 422 naming it, and asks nothing back.
    other = {**ROUTES["returns"], "reason": "colour"}
    assert_problem(post(client, f"{path}/returns", other, key), 422, "Idempotency-Key")
    assert [r.return_id for r in deps.store.get_order(order_id).returns] == [
        first.json_body["return_id"]
    ]
    # In store, without naming one (and without a key): the customer takes it to any store.
    in_store = {**ROUTES["returns"], "channel": "store"}
    second = post(client, f"{path}/returns", in_store, key={})
    assert second.status_code == 201, second.body
    assert deps.store.get_order(order_id).returns[1].channel == "store"
    # Both units are asked back now: nothing more to return.
    assert_problem(post(client, f"{path}/returns", in_store), 409)
    assert "return" not in actions(client, path)


def test_a_ticket_lands_on_the_customers_record_linked_to_the_order(
    client: Any, shipped: tuple[str, str], deps: Any
) -> None:
    order_id, path = shipped
    key = idempotency_key()

    first = post(client, f"{path}/tickets", ROUTES["tickets"], key)
    again = post(client, f"{path}/tickets", ROUTES["tickets"], key)

    assert first.status_code == again.status_code == 201, first.body
    assert first.json_body == again.json_body
    assert first.json_body["status"] == "open"
    customer_id = deps.store.get_order(order_id).customer_id
    tickets = customer_360(client, customer_id)["tickets"]
    assert [(t["ticket_id"], t["order_id"]) for t in tickets] == [
        (first.json_body["ticket_id"], order_id)
    ]


@pytest.mark.usefixtures("wide_payment_window")
def test_after_a_declined_card_the_same_order_is_paid_again_and_goes_on(
    client: Any, declined: tuple[str, str], deps: Any
) -> None:
    order_id, path = declined
    assert actions(client, path) == ["ticket", "pay"]

    key = idempotency_key()
    response = post(client, f"{path}/payment", ROUTES["payment"], key)
    again = post(client, f"{path}/payment", ROUTES["payment"], key)
    other_card = {"payment": {"method": "card", "token": "tok_mastercard"}}
    reused = post(client, f"{path}/payment", other_card, key)

    assert response.status_code == again.status_code == 202, response.body
    assert response.json_body == again.json_body
    assert_problem(reused, 422, "Idempotency-Key")
    assert response.json_body["order_id"] == order_id
    assert response.json_body["execution_arn"] is None  # AWS's account and names: staff's
    paid = deps.store.get_order(order_id)
    assert paid.execution_arn.endswith(f":{order_id}-pay1")
    assert [r.attempt for r in paid.retries] == [1]
    order = wait_for_status(client, order_id, "SHIPPED")
    assert [e["status"] for e in order["history"]][:4] == [
        "ACCEPTED",
        "REJECTED",
        "ACCEPTED",
        "PAID",
    ]
    # Paid now: paying again is over (without a key too: the state answers, not the key).
    assert_problem(post(client, f"{path}/payment", ROUTES["payment"], key={}), 409)


@pytest.mark.usefixtures("wide_payment_window")
def test_two_cards_sent_at_once_get_one_202_and_a_409_naming_payment(
    client: Any, declined: tuple[str, str], deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A probe: 4 in 100 concurrent pairs both got 202, and one card was never tried. The
    # second request arrives here while the first is starting the new execution.
    order_id, path = declined
    start = deps.workflow.start_named
    second: list[Any] = []
    asked: list[str] = []

    def second_request_meanwhile(name: str, payload: Any) -> str:
        if not asked:
            asked.append(name)  # once: the second request's own start starts
            amex = {"payment": {"method": "card", "token": "tok_amex"}}
            second.append(post(client, f"{path}/payment", amex))
        return str(start(name, payload))

    monkeypatch.setattr(deps.workflow, "start_named", second_request_meanwhile)
    first = post(client, f"{path}/payment", ROUTES["payment"])

    assert first.status_code == 202, first.body
    assert_problem(second[0], 409, "payment")
    assert deps.store.get_order(order_id).payment_token == "tok_visa"
    monkeypatch.undo()
    wait_for_status(client, order_id, "PAID", "RESERVED", "SHIPPED")


@pytest.mark.usefixtures("wide_payment_window")
def test_a_payment_whose_execution_failed_to_start_is_shown_to_ops_who_retry_it(
    client: Any, declined: tuple[str, str], deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Probe 26A: the order names its new execution before starting it, and ops reading
    # it meanwhile (or for good, should the start fail) got a 500.
    order_id, path = declined

    def start_fails(name: str, payload: Any) -> str:
        raise RuntimeError("Step Functions did not answer")

    monkeypatch.setattr(deps.workflow, "start_named", start_fails)
    post(client, f"{path}/payment", ROUTES["payment"])  # the order is written, not started
    monkeypatch.undo()
    named = deps.store.get_order(order_id)
    assert named.status.value == "ACCEPTED" and named.execution_arn.endswith("-pay1")

    unstarted = client.http.get(f"/ops/orders/{order_id}/execution", headers=OPS)

    assert_problem(unstarted, 404, "order_id")
    assert unstarted.json_body["type"].endswith("/execution-not-started")
    assert "/retry" in unstarted.json_body["detail"]
    retried = client.http.post(
        f"/ops/orders/{order_id}/retry", headers=OPS | JSON, body=json.dumps({})
    )
    assert retried.status_code == 202, retried.body
    # The execution the order names is the one started, not another beside it.
    assert retried.json_body["execution_arn"] == named.execution_arn
    wait_for_status(client, order_id, "PAID", "RESERVED", "SHIPPED")
    execution = client.http.get(f"/ops/orders/{order_id}/execution", headers=OPS)
    assert execution.status_code == 200, execution.body
    assert execution.json_body["execution_arn"] == retried.json_body["execution_arn"]


@pytest.mark.usefixtures("wide_payment_window")
def test_a_declined_order_whose_goods_sold_out_since_says_why_it_cannot_be_paid(
    client: Any, deps: Any
) -> None:
    # The rejection email said the order could be paid again; the page said nothing once
    # it could not (a review).
    sku = fresh_sku(deps, {"WH-GETAFE": 1})
    order_id, path = placed(
        client,
        "REJECTED",
        lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}],
        payment={"method": "card", "token": "tok_declined"},
    )
    assert "pay" in actions(client, path)
    sale = {"sku": sku, "location_id": "WH-GETAFE", "type": "sale", "quantity": 1}
    sold = client.http.post(
        "/inventory/movements", headers=OPS | JSON | idempotency_key(), body=json.dumps(sale)
    )
    assert sold.status_code in (200, 201), sold.body

    assert actions(client, path) == ["ticket"]
    html = client.http.get(path).body.decode()
    assert 'id="form-pay"' not in html
    assert "algún artículo se ha agotado" in html
    assert_problem(post(client, f"{path}/payment", ROUTES["payment"]), 409)
    assert deps.store.get_order(order_id).status.value == "REJECTED"


def test_an_orders_link_opens_five_tickets_then_429_for_a_day(
    client: Any, shipped: tuple[str, str], deps: Any
) -> None:
    # Probe 165: 40 tickets through one link (the only credential), each one mailed to
    # the customer with the sender's subject and put in the support queue.
    order_id, path = shipped

    answers = [
        post(client, f"{path}/tickets", ROUTES["tickets"])
        for _ in range(self_service.MAX_PAGE_TICKETS + 1)
    ]

    assert [a.status_code for a in answers[:-1]] == [201] * self_service.MAX_PAGE_TICKETS
    assert_problem(answers[-1], 429, "token")
    # "ticket" is no longer among what is possible now (API.md: the page's "actions"),
    # and the JSON says until when, as the page does (re-probe 171: only the page did).
    assert actions(client, path) == []
    view = client.http.get(path, headers={"Accept": "application/json"}).json_body
    paused = datetime.fromisoformat(view["tickets_paused_until"])
    assert paused.utcoffset() == timedelta(0)
    assert 23 * 3600 < (paused - datetime.now(UTC)).total_seconds() <= 24 * 3600 + 1
    detail = answers[-1].json_body["detail"]
    assert "5 questions were sent from this order's page" in detail
    # Said of any customer: one who left only a phone is not emailed (probe 221).
    assert "email" not in detail, detail
    assert 23 * 3600 < int(answers[-1].headers["Retry-After"]) <= 24 * 3600 + 1
    customer_id = deps.store.get_order(order_id).customer_id
    assert len(customer_360(client, customer_id)["tickets"]) == self_service.MAX_PAGE_TICKETS


def test_staff_cancel_a_declined_order_and_its_page_no_longer_offers_to_pay(
    client: Any, declined: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Probe 192: ops got 409 "can no longer be cancelled" while the link could still pay
    # it and have it shipped.
    from chalicelib.services import ordering

    monkeypatch.setattr(self_service, "PAYMENT_RETRY_WINDOW", timedelta(days=3650))
    monkeypatch.setattr(ordering, "PAYMENT_RETRY_WINDOW", timedelta(days=3650))
    order_id, path = declined
    assert "pay" in actions(client, path)

    cancelled = client.http.post(
        f"/orders/{order_id}/cancel", headers=OPS | JSON, body=json.dumps({"reason": "phoned"})
    )

    assert cancelled.status_code == 200, cancelled.body
    assert cancelled.json_body["status"] == "CANCELLED"
    assert "pay" not in actions(client, path)
    assert_problem(post(client, f"{path}/payment", ROUTES["payment"]), 409)
    assert wait_for_status(client, order_id, "CANCELLED")["payment"]["status"] != "AUTHORIZED"
