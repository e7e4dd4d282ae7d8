"""An email with letters outside ASCII after the @ ("bea@exämple.com") is one address
whichever way it is compared: identifiers keep it in its ASCII form (IDNA), orders keep
it as typed. A probe found every comparison of an order's contact with someone's
identifiers miss such an address: the person's order stayed in the record it was split
from (in that record's export, not in theirs), and their erasure left it there, with
their email on it and mailed after the erasure. Each case runs with an ASCII domain too,
which always worked, so that the two read side by side."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.customers import normalise_email
from chalicelib.domain.erasure import contact_emails
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import CustomerRef
from chalicelib.services import customer_records, verification
from chalicelib.services.customer_export import export_customer
from chalicelib.services.customers import resolve_customer
from tests.service import flows

# Full-width letters are stored as their ASCII look-alikes (IDNA maps them).
DOMAINS = ["example.com", "Exämple.com", "bücher.example", "ＥＸＡＭＰＬＥ.com"]


def _prove_email(deps: Deps, typed: str) -> str:
    """Bea proves her address with the code mailed to it; the record her token names."""
    verification.send_code(typed, None, deps, sender="test-client")
    sent: Any = deps.mailer
    text = sent.sent[-1]["parts"]
    match = re.search(r"Your Orquesta code is (\d{6})", text)
    assert match is not None
    return verification.confirm_code(typed, None, match.group(1), deps).resolution.customer_id


def _story(deps: Deps, domain: str) -> tuple[str, str, Order, Order, str]:
    """Carol founds a record with her phone; an order then names Bea's email beside it (the
    address is attached to Carol's record; the order is told at Bea's address, so it is
    Bea's, not Carol's to read: probe 195); Bea then orders with her email alone (the
    order lands on Carol's record) and proves the address (a record of her own is split
    off). (Bea's address as typed, Carol's record, the order with Carol's phone and Bea's
    address, Bea's order, Bea's record)."""
    bea = f"Bea.{uuid.uuid4().hex[:8]}@{domain}"
    phone = f"+3461{uuid.uuid4().int % 10_000_000:07d}"
    carol = resolve_customer(CustomerRef(phone=phone), deps).customer_id
    naming_bea = flows.projected(
        deps, flows.reserved(deps, customer={"phone": phone, "email": bea, "name": "Carol"})
    )
    beas = flows.projected(
        deps,
        flows.reserved(
            deps,
            customer={"email": bea, "name": "Bea Exacta"},
            shipping_address={
                "name": "Bea Exacta",
                "line1": "Calle del Secreto 7",
                "city": "Madrid",
                "postal_code": "28013",
                "country": "ES",
            },
        ),
    )
    assert naming_bea.customer_id == beas.customer_id == carol
    assert naming_bea.customer_unvouched and beas.customer_unvouched
    split = _prove_email(deps, bea)
    assert split != carol
    return bea, carol, naming_bea, beas, split


@pytest.mark.parametrize("domain", DOMAINS)
def test_an_order_is_in_the_export_of_the_person_whose_address_brought_it(
    deps: Deps, domain: str
) -> None:
    _, carol, naming_bea, beas, bea = _story(deps, domain)

    listed = {o["order_id"] for o in export_customer(bea, deps)["orders"]}
    assert listed == {naming_bea.order_id, beas.order_id}
    assert export_customer(carol, deps)["orders"] == []
    assert "Calle del Secreto" not in json.dumps(export_customer(carol, deps))


@pytest.mark.parametrize("domain", DOMAINS)
def test_erasing_the_person_takes_their_address_off_every_order_that_named_it(
    deps: Deps, domain: str
) -> None:
    typed, carol, naming_bea, beas, bea = _story(deps, domain)

    customer_records.erase_customer(bea, "ops", "ops", deps)

    assert deps.store.get_order(naming_bea.order_id).contact.email is None
    erased = deps.store.get_order(beas.order_id)
    assert erased.contact.email is None
    assert "Calle del Secreto" not in erased.model_dump_json()
    carols = json.dumps(export_customer(carol, deps), ensure_ascii=False).lower()
    for form in (typed.lower(), normalise_email(typed)):
        assert form not in carols


@pytest.mark.parametrize("domain", DOMAINS)
def test_erasing_the_record_it_was_split_from_leaves_the_persons_order_whole(
    deps: Deps, domain: str
) -> None:
    typed, carol, naming_bea, beas, bea = _story(deps, domain)

    customer_records.erase_customer(carol, "ops", "ops", deps)

    kept = deps.store.get_order(beas.order_id)
    assert kept.contact.email == typed.strip().lower()
    assert kept.contact.name == "Bea Exacta"
    listed = {o["order_id"] for o in export_customer(bea, deps)["orders"]}
    assert listed == {naming_bea.order_id, beas.order_id}
    # The order with Carol's phone beside Bea's address is Bea's, whole but for the phone.
    named = deps.store.get_order(naming_bea.order_id).contact
    assert (named.email, named.phone) == (typed.strip().lower(), None)


@pytest.mark.parametrize("domain", DOMAINS)
def test_an_orders_contact_email_compares_as_its_identifier(deps: Deps, domain: str) -> None:
    typed = f"Bea.{uuid.uuid4().hex[:8]}@{domain}"
    order = flows.place(deps, customer={"email": typed})

    assert contact_emails(order) == {normalise_email(typed)}
