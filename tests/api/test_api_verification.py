"""Customer tokens only through one-time codes (API.md part two): no enumeration, a code
that is good once and for 10 minutes, stored only as a hash, and locked after 5 wrong
tries under any concurrency."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from chalicelib.domain.customers import Identifier, IdentifierType
from chalicelib.services import verification
from tests.support import (
    JSON,
    OPS,
    OTHER_STOREFRONT,
    STORE,
    STOREFRONT,
    assert_problem,
    eventually,
    order_body,
    pickup_order_body,
)
from tests.support.api import get_order, place_order, sent_code, verify_customer
from tests.support.orders import wait_for_status


def _email() -> str:
    return f"verify-{uuid.uuid4().hex[:10]}@example.com"


def _send(client: Any, body: dict[str, str], auth: dict[str, str] = STOREFRONT) -> Any:
    return client.http.post("/customers/verifications", headers=auth | JSON, body=json.dumps(body))


def _confirm(client: Any, body: dict[str, str], auth: dict[str, str] = STOREFRONT) -> Any:
    return client.http.post(
        "/customers/verifications/confirm", headers=auth | JSON, body=json.dumps(body)
    )


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_sending_a_code_answers_the_same_whether_or_not_anyone_is_known(
    client: Any, stack: Any
) -> None:
    body = order_body()
    place_order(client, body)
    known, unknown = body["customer"]["email"], _email()

    replies = [_send(client, {"email": known}), _send(client, {"email": unknown})]

    assert [r.status_code for r in replies] == [202, 202]
    assert replies[0].body == replies[1].body == b'{"status": "sent"}'
    assert sent_code(stack.outbox, known) and sent_code(stack.outbox, unknown)


def test_a_known_customer_proves_their_email_and_reads_their_own_data(
    client: Any, stack: Any
) -> None:
    body = order_body()
    placed = place_order(client, body)
    address = body["customer"]["email"]
    sent = _send(client, {"email": address})
    assert sent.status_code == 202 and sent.json_body == {"status": "sent"}

    confirmed = _confirm(client, {"email": address, "code": sent_code(stack.outbox, address)})

    assert confirmed.status_code == 200, confirmed.body
    assert confirmed.json_body["customer_id"] == placed["customer_id"]
    assert set(confirmed.json_body) == {"customer_id", "customer_token", "expires_at"}
    export = client.http.get(
        f"/customers/{placed['customer_id']}/export",
        headers=STOREFRONT | {"X-Customer-Token": confirmed.json_body["customer_token"]},
    )
    assert export.status_code == 200, export.body


def test_nobody_known_by_the_address_is_created_on_confirmation(client: Any, stack: Any) -> None:
    address = _email()
    verified = verify_customer(client, stack.outbox, address, auth=STORE)

    found = client.http.get(f"/customers?email={address}", headers=OPS)
    assert found.status_code == 200 and found.json_body["customer_id"] == verified["customer_id"]


def test_a_phone_gets_its_code_as_a_message_file_in_the_outbox(client: Any, stack: Any) -> None:
    phone = f"+3461{uuid.uuid4().int % 10_000_000:07d}"
    assert _send(client, {"phone": phone}).status_code == 202
    messages = [p for p in stack.outbox.glob("*.sms.txt") if phone in p.read_text()]
    assert len(messages) == 1

    verified = _confirm(client, {"phone": phone, "code": sent_code(stack.outbox, phone)})

    assert verified.status_code == 200, verified.body


def test_erasing_the_customer_deletes_the_codes_texted_to_their_phone(
    client: Any, stack: Any
) -> None:
    # Found by a probe: the erased phone's codes stayed in the outbox (the emails went).
    phone, other = (f"+3462{uuid.uuid4().int % 10_000_000:07d}" for _ in range(2))
    verified = verify_customer(client, stack.outbox, phone)
    assert _send(client, {"phone": other}).status_code == 202

    erased = client.http.post(f"/customers/{verified['customer_id']}/erase", headers=OPS)

    assert erased.status_code == 200, erased.body
    texts = [p.read_text(encoding="utf-8") for p in stack.outbox.glob("*.sms.txt")]
    assert not [t for t in texts if phone in t]
    assert [t for t in texts if other in t]


def test_a_wrong_reused_or_expired_code_is_422_naming_code(
    client: Any, stack: Any, settings: Any
) -> None:
    address = _email()
    _send(client, {"email": address})
    code = sent_code(stack.outbox, address)

    assert_problem(_confirm(client, {"email": address, "code": _wrong(code)}), 422, "code")
    assert _confirm(client, {"email": address, "code": code}).status_code == 200
    assert_problem(_confirm(client, {"email": address, "code": code}), 422, "code")  # used

    settings.verification_code_ttl_seconds = 0
    _send(client, {"email": address})
    expired = sent_code(stack.outbox, address)
    assert_problem(_confirm(client, {"email": address, "code": expired}), 422, "code")


def test_a_code_for_an_address_no_code_was_sent_to_is_422_naming_code(
    client: Any, stack: Any
) -> None:
    # Answered as a wrong code: a different answer would tell who has a code pending.
    pending, never = _email(), _email()
    _send(client, {"email": pending})
    code = sent_code(stack.outbox, pending)

    replies = [_confirm(client, {"email": a, "code": _wrong(code)}) for a in (pending, never)]

    for reply in replies:
        assert_problem(reply, 422, "code")
    assert replies[0].body == replies[1].body


def test_a_code_that_is_not_six_digits_is_422_naming_code(client: Any) -> None:
    for code in ("12345", "1234567", "abcdef", "١٢٣٤٥٦", ""):
        assert_problem(_confirm(client, {"email": _email(), "code": code}), 422, "code")


def test_only_a_hash_of_the_code_is_stored_and_no_address(
    client: Any, stack: Any, deps: Any
) -> None:
    """No record of a verification holds the address it went to, in its key or anywhere
    else: these live a day past their use, and an erasure cannot find the send counters,
    one per API client (a probe found an erased person's email and phone in their keys)."""
    address, phone = _email(), f"+3461{uuid.uuid4().int % 10_000_000:07d}"
    for identifier, sent_to in (({"email": address}, address), ({"phone": phone}, phone)):
        _send(client, identifier)
        _send(client, identifier, OTHER_STOREFRONT)
        wrong = _wrong(sent_code(stack.outbox, sent_to))
        assert_problem(_confirm(client, identifier | {"code": wrong}), 422, "code")
    code = sent_code(stack.outbox, address)
    dynamodb = boto3.client("dynamodb", region_name=deps.settings.region)

    key = verification.record_key(Identifier(type=IdentifierType.EMAIL, value=address), deps)
    item = dynamodb.get_item(
        TableName=deps.settings.table_name, Key={"pk": {"S": f"VERIFY#{key}"}, "sk": {"S": "CODE"}}
    )["Item"]
    assert code not in json.dumps(item)
    assert len(item["code_hash"]["S"]) == 32
    for held in (address, phone, phone.lstrip("+")):
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=deps.settings.table_name,
            FilterExpression="contains(pk, :held) OR contains(sk, :held)",
            ExpressionAttributeValues={":held": {"S": held}},
        )
        assert [item for page in pages for item in page["Items"]] == []


def test_after_five_wrong_codes_even_the_right_one_is_429_for_15_minutes(
    client: Any, stack: Any
) -> None:
    address = _email()
    _send(client, {"email": address})
    code = sent_code(stack.outbox, address)

    wrong = [_confirm(client, {"email": address, "code": _wrong(code)}) for _ in range(5)]
    locked = _confirm(client, {"email": address, "code": code})

    for reply in wrong:
        assert_problem(reply, 422, "code")
    assert_problem(locked, 429)
    # 15 real minutes, although the stack here runs with ORQUESTA_TIME_SCALE=21600.
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    # Another address is not locked.
    assert verify_customer(client, stack.outbox)["customer_token"]


def test_twenty_concurrent_guesses_get_exactly_five_codes_checked(client: Any, stack: Any) -> None:
    address = _email()
    _send(client, {"email": address})
    code = sent_code(stack.outbox, address)

    def guess(_: int) -> int:
        return int(_confirm(client, {"email": address, "code": _wrong(code)}).status_code)

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(guess, range(20)))

    assert statuses.count(422) == 5 and statuses.count(429) == 15, statuses


def test_the_right_code_sent_again_is_no_guess_and_never_locks_the_address(
    client: Any, stack: Any
) -> None:
    # Probe 195: an app's double submit of the right code counted as wrong guesses, and
    # the address it had just proved was locked for 15 minutes.
    address = _email()
    _send(client, {"email": address})
    body = {"email": address, "code": sent_code(stack.outbox, address)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = list(pool.map(lambda _: _confirm(client, body), range(2)))
    assert sorted(reply.status_code for reply in first) == [200, 422]

    again = [_confirm(client, body) for _ in range(6)]

    for reply in again:
        assert_problem(reply, 422, "code")
        assert "used already" in reply.json_body["detail"]
    _send(client, {"email": address})
    fresh_code = sent_code(stack.outbox, address)
    fresh = _confirm(client, {"email": address, "code": fresh_code})
    assert fresh.status_code == 200, fresh.body
    # Wrong codes still count: five, then the lock.
    wrong = [_confirm(client, {"email": address, "code": _wrong(fresh_code)}) for _ in range(6)]
    assert [reply.status_code for reply in wrong] == [422] * 5 + [429]


def test_proving_the_address_forgets_the_typos_before_it(client: Any, stack: Any) -> None:
    # Re-probe 197: four typos, then the right code; at the next sign-in one typo and the
    # right new code was 429 for 15 minutes (the counter kept the four for a day).
    address = _email()
    _send(client, {"email": address})
    code = sent_code(stack.outbox, address)
    typos = [_confirm(client, {"email": address, "code": _wrong(code)}) for _ in range(4)]
    assert [reply.status_code for reply in typos] == [422] * 4
    assert _confirm(client, {"email": address, "code": code}).status_code == 200

    _send(client, {"email": address})
    later = sent_code(stack.outbox, address)
    assert_problem(_confirm(client, {"email": address, "code": _wrong(later)}), 422, "code")
    proven = _confirm(client, {"email": address, "code": later})

    assert proven.status_code == 200, proven.body


def test_a_sixth_code_to_one_address_within_15_minutes_is_429(client: Any, stack: Any) -> None:
    address = _email()
    sent = [_send(client, {"email": address}) for _ in range(5)]
    refused = _send(client, {"email": address})

    assert [reply.status_code for reply in sent] == [202] * 5
    assert_problem(refused, 429, "email")
    assert 14 * 60 < int(refused.headers["Retry-After"]) <= 15 * 60
    # It says what limit was reached, not "too many attempts", which reads as wrong codes.
    assert refused.json_body["detail"].startswith("5 codes were sent to this email within 15")
    # Another client's budget is its own: using one client's up keeps nobody from proving
    # the address through another (and ops may send codes too: they do everything).
    for other in (OTHER_STOREFRONT, OPS):
        assert _send(client, {"email": address}, other).status_code == 202
    # The last code sent still proves the address.
    confirmed = _confirm(client, {"email": address, "code": sent_code(stack.outbox, address)})
    assert confirmed.status_code == 200, confirmed.body


def test_a_kiosk_customer_who_gave_a_phone_is_texted_the_pick_up_code(
    client: Any, stack: Any
) -> None:
    # Found by a probe: the code was only on the tracking page; nothing was sent.
    phone = f"+3463{uuid.uuid4().int % 10_000_000:07d}"
    typed = f"{phone[:3]} {phone[3:6]} {phone[6:9]} {phone[9:]}"
    placed = place_order(
        client,
        pickup_order_body(
            "CAP-NAVY",
            store="ST-BARCELONA",
            channel="kiosk",
            store_id="ST-BARCELONA",
            customer={"phone": typed},
        ),
    )
    order = wait_for_status(client, placed["order_id"], "READY_FOR_PICKUP", "REJECTED")
    assert order["status"] == "READY_FOR_PICKUP", order["status_reason"]
    code = get_order(client, placed["order_id"], STORE)["fulfillments"][0]["pickup_code"]

    def texts() -> list[str]:
        found = [p.read_text(encoding="utf-8") for p in stack.outbox.glob("*.sms.txt")]
        return [t for t in found if t.startswith(f"To: {phone}\n")]

    eventually(lambda: any(code in t for t in texts()))
    assert placed["tracking_url"] in next(t for t in texts() if code in t)
    assert not [p for p in stack.outbox.glob("*.eml") if phone in p.read_text()]


ENCODED_WORDS = [
    "=?utf-8?q?=3Cscript=3E?=@example.com",
    "=?utf-8?q?victim=40evil.example=2C_other?=@example.com",
    "=?utf-8?b?eA0KQmNjOiBhQGIuYw==?=@example.com",
]


def test_an_address_made_of_an_encoded_word_is_refused_naming_the_field(
    client: Any, stack: Any
) -> None:
    # Probe 176: valid by RFC 5322, but the To header decoded it (to another recipient,
    # or to a line break): the code's send was a 500, and an order's emails all failed.
    for address in ENCODED_WORDS:
        sent = _send(client, {"email": address})
        assert_problem(sent, 422, "email")
        assert "=?" in sent.json_body["errors"][0]["message"]
        body = order_body()
        body["customer"]["email"] = address
        placed = client.http.post(
            "/orders",
            headers=STOREFRONT | JSON | {"Idempotency-Key": uuid.uuid4().hex},
            body=json.dumps(body),
        )
        assert_problem(placed, 422, "customer.email")


def test_a_welcome_coupon_used_by_an_attached_phone_goes_with_it_when_its_owner_proves_it(
    client: Any, stack: Any, deps: Any
) -> None:
    # Probe 230: a phone attached to someone's record, used alone with a welcome coupon,
    # then proven by its owner: the record's own customer was refused the coupon they never
    # used, and the phone's owner could use it again.
    code = f"HOLA{uuid.uuid4().hex[:8].upper()}"
    welcome = {"name": "Hola", "code": code, "kind": "percent", "value": "10"}
    created = client.http.post(
        "/promotions", headers=OPS | JSON, body=json.dumps(welcome | {"once_per_customer": True})
    )
    assert created.status_code == 201, created.body
    email, phone = _email(), f"+3460{uuid.uuid4().int % 10_000_000:07d}"
    founders = place_order(client, order_body(customer={"email": email, "phone": phone}))
    by_phone = order_body(customer={"phone": phone, "name": "Vera"}, coupon=code)
    used = place_order(client, by_phone)
    record = founders["customer_id"]
    assert used["customer_id"] == record
    eventually(
        lambda: (
            used["order_id"]
            in {
                o["order_id"]
                for o in client.http.get(f"/customers/{record}", headers=OPS).json_body["orders"]
            }
        )
    )

    split = verify_customer(client, stack.outbox, phone)["customer_id"]

    assert split != record
    again = client.http.post(
        "/orders",
        headers=STOREFRONT | JSON | {"Idempotency-Key": uuid.uuid4().hex},
        body=json.dumps(order_body(customer={"phone": phone}, coupon=code)),
    )
    assert_problem(again, 409, "coupon")
    place_order(client, order_body(customer={"email": email}, coupon=code))
