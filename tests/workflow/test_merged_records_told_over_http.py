"""After a merge, on the real order.asl.json over HTTP: the merged record's customer goes on
being told at the address they were told at, of their order placed by the record's id and
of their ticket (a probe: the ticket's resolution went to nobody), and the survivor's
address hears of neither."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support import JSON, OPS, STOREFRONT, eventually, order_body, pickup_order_body
from tests.support.api import customer_360, merge, place_order
from tests.support.flow import emails_to, fresh_sku, parts_of
from tests.support.orders import wait_for_status


def _email() -> str:
    return f"merged-{uuid.uuid4().hex[:10]}@example.com"


def _about(address: str, needle: str) -> list[str]:
    """The subjects of the emails to ``address`` whose subject or text names ``needle``."""
    return [
        str(message["Subject"])
        for message in emails_to(address)
        if needle in str(message["Subject"]) or needle in parts_of(message).get("text/plain", "")
    ]


def _wait_for(address: str, needle: str, count: int) -> None:
    """Until ``count`` emails to ``address`` name ``needle``; failing, the subjects it got."""
    try:
        eventually(lambda: len(_about(address, needle)) >= count, timeout=60)
    except AssertionError:
        subjects = [str(message["Subject"]) for message in emails_to(address)]
        raise AssertionError(f"{address} got {subjects}, not {count} naming {needle}") from None


def test_a_merged_records_customer_is_told_of_their_order_and_ticket_at_their_address(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    # The pick-up waits through the merge: at the suite's scale its window (counted in
    # its store's opening days) can be 10 s, which a loaded machine once outran (the
    # pick-up lapsed before its ready email went, and that email was overtaken).
    settings.time_scale = settings.time_scale / 10
    was, now = _email(), _email()
    gone = place_order(client, order_body(customer={"email": was}))["customer_id"]
    kept = place_order(client, order_body(customer={"email": now}))["customer_id"]
    eventually(lambda: customer_360(client, gone)["metrics"]["order_count"] == 1)
    sku = fresh_sku(deps, {"ST-VALENCIA": 2})
    pickup = place_order(client, pickup_order_body(sku, customer={"customer_id": gone}))
    parked.append(pickup["order_id"])
    wait_for_status(client, pickup["order_id"], "READY_FOR_PICKUP")
    # Confirmed and ready before the merge: told now, or never (an email a later status
    # overtook is not sent).
    _wait_for(was, pickup["order_id"], 2)
    opened = client.http.post(
        f"/customers/{gone}/tickets",
        headers=OPS | JSON,
        body=json.dumps(
            {"type": "question", "subject": "¿Talla?", "description": "La M.", "channel": "email"}
        ),
    )
    assert opened.status_code == 201, opened.body
    ticket_id = opened.json_body["ticket_id"]

    assert merge(client, kept, gone).status_code == 200
    cancelled = client.http.post(
        f"/orders/{pickup['order_id']}/cancel",
        headers=STOREFRONT | JSON,
        body=json.dumps({"reason": "changed my mind"}),
    )
    assert cancelled.status_code == 200, cancelled.body
    resolved = client.http.patch(
        f"/tickets/{ticket_id}",
        headers=OPS | JSON,
        body=json.dumps({"status": "resolved", "note": "La M te queda bien."}),
    )
    assert resolved.status_code == 200, resolved.body

    # Cancelled after the merge; the ticket opened before it, resolved after.
    _wait_for(was, pickup["order_id"], 3)
    _wait_for(was, "La M te queda bien.", 1)
    assert _about(now, pickup["order_id"]) == []
    assert _about(now, "¿Talla?") == [] and _about(now, "La M te queda bien.") == []
