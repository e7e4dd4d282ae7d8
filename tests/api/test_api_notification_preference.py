"""The profile's ``notifications`` preference, set through ``POST /customers``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.api import customers as customer_api
from chalicelib.services import customers as customer_service
from tests.support import (
    JSON,
    OPS,
    OTHER_STOREFRONT,
    STORE,
    STOREFRONT,
    assert_problem,
    idempotency_key,
)
from tests.support.died import Killed, answer_never_kept, in_progress_time_passes


def _identify(client: Any, body: Any, token: str | None = None) -> Any:
    headers = STOREFRONT | JSON | ({"X-Customer-Token": token} if token else {})
    return client.http.post("/customers", headers=headers, body=json.dumps(body))


def _email() -> str:
    return f"pref-{uuid.uuid4().hex[:8]}@example.com"


@pytest.mark.parametrize("bad", ["everything", "", 1, None, ["all"]])
def test_an_unknown_preference_is_422_naming_notifications_and_creates_nobody(
    client: Any, bad: Any
) -> None:
    email = _email()
    if bad is None:
        # null means "not given": the customer is created with the default.
        assert _identify(client, {"email": email, "notifications": None}).status_code == 200
        return
    answer = _identify(client, {"email": email, "notifications": bad})
    assert_problem(answer, 422, "notifications")
    assert_problem(client.http.get(f"/customers?email={email}", headers=OPS), 404)


def test_the_preference_is_on_the_profile_and_its_customer_changes_it_back(
    client: Any, deps: Any
) -> None:
    email = _email()
    created = _identify(client, {"email": email, "notifications": "all"})
    assert created.status_code == 200, created.body
    customer_id = created.json_body["customer_id"]
    view = client.http.get(f"/customers/{customer_id}", headers=OPS).json_body
    assert view["profile"]["notifications"] == "all"

    token = customer_service.customer_token(customer_id, deps).token
    again = _identify(client, {"email": email, "notifications": "essential"}, token=token)
    assert again.json_body["customer_id"] == customer_id
    view = client.http.get(f"/customers/{customer_id}", headers=OPS).json_body
    assert view["profile"]["notifications"] == "essential"


@pytest.mark.parametrize(
    "auth", [STOREFRONT, OTHER_STOREFRONT], ids=["same-client", "other-client"]
)
def test_a_storefront_without_the_customer_s_token_cannot_change_a_known_customer_s(
    client: Any, auth: dict[str, str]
) -> None:
    # Found by a probe: another storefront client, knowing only an email, switched its
    # owner to an email for every status change.
    email = _email()
    customer_id = _identify(client, {"email": email}).json_body["customer_id"]

    answer = client.http.post(
        "/customers",
        headers=auth | JSON,
        body=json.dumps(
            {"email": email.upper(), "phone": "+34 611 222 333", "notifications": "all"}
        ),
    )

    assert_problem(answer, 403, "X-Customer-Token")
    view = client.http.get(f"/customers/{customer_id}", headers=OPS).json_body
    assert view["profile"]["notifications"] == "essential"
    assert view["identifiers"] == [{"type": "email", "value": email}]  # nothing attached
    by_staff = client.http.post(
        "/customers",
        headers=STORE | JSON,
        body=json.dumps({"email": email, "notifications": "all"}),
    )
    assert by_staff.status_code == 200, by_staff.body
    view = client.http.get(f"/customers/{customer_id}", headers=OPS).json_body
    assert view["profile"]["notifications"] == "all"


def test_a_customer_who_never_chose_reads_as_essential(client: Any) -> None:
    created = _identify(client, {"email": _email()})
    view = client.http.get(f"/customers/{created.json_body['customer_id']}", headers=OPS)
    assert view.json_body["profile"]["notifications"] == "essential"


def test_a_record_founded_during_the_check_is_still_guarded(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A re-probe raced the founding of the record against another client's preference:
    # the check before the write saw no record, and the preference was set unproven.
    email = _email()
    customer_id = _identify(client, {"email": email}).json_body["customer_id"]
    # As if the record were founded just after the first check looked.
    monkeypatch.setattr(customer_api, "identifiers_of", lambda *given: [])

    answer = client.http.post(
        "/customers",
        headers=OTHER_STOREFRONT | JSON,
        body=json.dumps({"email": email, "notifications": "all"}),
    )

    assert_problem(answer, 403, "X-Customer-Token")
    view = client.http.get(f"/customers/{customer_id}", headers=OPS).json_body
    assert view["profile"]["notifications"] == "essential"


def test_a_new_customer_asked_again_after_its_request_died_is_created_and_set_once(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: the record was founded with its preference, then the Lambda died before
    # its answer was stored; once the key's in-progress time passed, the storefront's
    # retry was refused 403 as if the record were someone else's (and without the
    # preference it answered created: false).
    email, key = _email(), idempotency_key()
    body = json.dumps({"email": email, "notifications": "all"})
    with answer_never_kept(monkeypatch), pytest.raises(Killed):
        client.http.post("/customers", headers=STOREFRONT | JSON | key, body=body)
    founded = client.http.get(f"/customers?email={email}", headers=OPS).json_body["customer_id"]
    in_progress_time_passes(deps)

    again = client.http.post("/customers", headers=STOREFRONT | JSON | key, body=body)

    assert again.status_code == 200, again.body
    assert again.json_body == {"customer_id": founded, "matched_by": None, "created": True}
    view = client.http.get(f"/customers/{founded}", headers=OPS).json_body
    assert view["profile"]["notifications"] == "all"
    # Another storefront's same key is its own request: the record is not its to set.
    other = client.http.post("/customers", headers=OTHER_STOREFRONT | JSON | key, body=body)
    assert_problem(other, 403, "X-Customer-Token")
    # Without the preference, the retry still answers what the first run did.
    plain_key = idempotency_key()
    plain = json.dumps({"email": _email()})
    with answer_never_kept(monkeypatch), pytest.raises(Killed):
        client.http.post("/customers", headers=STOREFRONT | JSON | plain_key, body=plain)
    in_progress_time_passes(deps)
    retried = client.http.post("/customers", headers=STOREFRONT | JSON | plain_key, body=plain)
    assert retried.json_body["created"] is True, retried.body
