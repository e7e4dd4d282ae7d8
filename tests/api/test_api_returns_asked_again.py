"""A return asked for under an Idempotency-Key whose first request died after opening it,
before its answer was stored: once the key's in-progress time has passed, the retry runs
again and must find that return, not open a second one for the same units (found by a
review: the customer's two units were both "on their way back" after asking for one)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_api_actions_by_state import delivered
from tests.support import JSON, STOREFRONT, idempotency_key
from tests.support.died import Killed, answer_never_kept, in_progress_time_passes

ONE_BY_MAIL = {
    "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
    "reason": "size",
    "channel": "mail",
}


def _asked_twice(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch, path: str, headers: dict[str, str]
) -> list[Any]:
    """Ask for one unit back; the first request dies before its answer is kept; ask again,
    twice, with the same key."""
    key = idempotency_key()
    body = json.dumps(ONE_BY_MAIL)
    with answer_never_kept(monkeypatch), pytest.raises(Killed):
        client.http.post(path, headers=headers | JSON | key, body=body)
    in_progress_time_passes(deps)
    return [client.http.post(path, headers=headers | JSON | key, body=body) for _ in range(2)]


@pytest.mark.parametrize("route", ["storefront", "customer's page"])
def test_a_return_asked_again_after_its_request_died_opens_one_return(
    client: Any, deps: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    order_id, page = delivered(client, deps, settings)
    if route == "storefront":
        path, headers = f"/orders/{order_id}/returns", STOREFRONT
    else:
        path, headers = f"{page}/returns", {}

    again, third = _asked_twice(client, deps, monkeypatch, path, headers)

    assert again.status_code == third.status_code == 201, again.body
    (opened,) = deps.store.get_order(order_id).returns
    assert again.json_body["return_id"] == opened.return_id
    assert third.json_body == again.json_body
    # The other unit can still be asked back.
    other = client.http.post(
        path, headers=headers | JSON | idempotency_key(), body=json.dumps(ONE_BY_MAIL)
    )
    assert other.status_code == 201, other.body
