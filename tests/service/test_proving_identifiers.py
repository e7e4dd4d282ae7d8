"""A customer token proves the customer, not the caller (API.md, "Who may do what"):
naming an identifier next to someone else's attaches it to their record for the
retailer's 360 view, but proving it later with a one-time code proves that identifier
only, never the record it was attached to. Each attack reproduced on the local stack
(A: ``POST /customers``, B: ``POST /orders``, C: pre-registration, D: claims, E: a
phone nobody used yet named at founding) and the legitimate flows, on fakes."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.customer_actions import CustomerAction
from chalicelib.domain.customers import UNVOUCHED, Identifier, IdentifierType
from chalicelib.domain.errors import CouponUsedUp, NotFound, TooManyAttempts, Unprocessable
from chalicelib.domain.events import OrderStatusChanged
from chalicelib.domain.orders import Order, OrderStatus
from chalicelib.domain.promotions import PromotionTerms
from chalicelib.domain.requests import CustomerRef
from chalicelib.domain.surveys import SurveyAnswer
from chalicelib.domain.tickets import Ticket, TicketStatus, TicketType
from chalicelib.ports import CustomerRecord
from chalicelib.services import (
    customer_projection,
    customer_records,
    customer_view,
    fulfillment_steps,
    opportunities,
    ordering,
    promotions,
    self_service,
    survey_links,
    surveys,
    tickets,
    verification,
)
from chalicelib.services.customer_export import export_customer
from chalicelib.services.customers import lookup_customer, resolve_customer, token_grants
from chalicelib.services.step_models import FulfillmentStep
from tests.fakes.outside import Clock, Outgoing
from tests.service import flows


def _email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.com"


def _phone() -> str:
    return f"+3461{uuid.uuid4().int % 10_000_000:07d}"


def _prove(deps: Deps, address: str) -> verification.Verified:
    """Send a code to the address and confirm it with what arrived there."""
    email, phone = (None, address) if address.startswith("+") else (address, None)
    verification.send_code(email, phone, deps, sender="test-client")
    outgoing: Any = deps.texter if phone else deps.mailer
    (text,) = [m["parts"] for m in outgoing.sent if m["to"] == address][-1:]
    match = re.search(r"Your Orquesta code is (\d{6})", text)
    assert match is not None
    return verification.confirm_code(email, phone, match.group(1), deps)


def _identifiers(deps: Deps, customer_id: str) -> set[str]:
    return {i.value for i in deps.customers.identifiers(customer_id)}


def _candidates(deps: Deps, customer_id: str) -> set[str]:
    records, _ = deps.customers.records(customer_id, CustomerRecord.CANDIDATES)
    return {str(record["customer_id"]) for record in records}


def _assert_split_off(deps: Deps, proven: verification.Verified, victim: str, value: str) -> None:
    """The token names a fresh record holding only the proven identifier; the victim's
    record no longer holds it; the two are a merge candidate; the token opens nothing of
    the victim's."""
    fresh = proven.resolution.customer_id
    assert fresh != victim
    assert proven.resolution.created
    assert not token_grants(proven.token.token, victim, deps)
    assert token_grants(proven.token.token, fresh, deps)
    assert _identifiers(deps, fresh) == {value}
    assert value not in _identifiers(deps, victim)
    assert _candidates(deps, fresh) == {victim} and fresh in _candidates(deps, victim)
    claim = deps.customers.identifier_claim(
        Identifier(
            type=IdentifierType.PHONE if value.startswith("+") else IdentifierType.EMAIL,
            value=value,
        )
    )
    assert claim is not None and claim.customer_id == fresh and claim.vouched


def test_a_phone_named_next_to_a_known_email_proves_nothing_of_its_owner(deps: Deps) -> None:
    # A: the victim ordered by email; the attacker names that email with its own phone.
    victim_email, attacker_phone = _email("victim"), _phone()
    victim = flows.place(deps, customer={"email": victim_email, "name": "Vera"}).customer_id
    assert victim is not None
    attached = resolve_customer(CustomerRef(email=victim_email, phone=attacker_phone), deps)
    assert attached.customer_id == victim  # the 360 view still joins them, unproven

    proven = _prove(deps, attacker_phone)

    _assert_split_off(deps, proven, victim, attacker_phone)
    exported = export_customer(proven.resolution.customer_id, deps)
    assert victim_email not in str(exported) and "Calle Mayor" not in str(exported)
    # The victim still proves their own email into their own record.
    assert _prove(deps, victim_email).resolution.customer_id == victim


def test_an_email_named_in_an_order_next_to_a_known_phone_proves_nothing_of_its_owner(
    deps: Deps,
) -> None:
    # B: the victim is known by phone; the attacker orders with its email and that phone.
    victim_phone, attacker_email = _phone(), _email("attacker")
    victim = flows.place(deps, customer={"phone": victim_phone, "name": "Vera"}).customer_id
    assert victim is not None
    placed = flows.place(deps, customer={"email": attacker_email, "phone": victim_phone})
    assert placed.customer_id == victim

    proven = _prove(deps, attacker_email)

    _assert_split_off(deps, proven, victim, attacker_email)


def test_an_order_told_at_a_new_email_beside_a_proven_phone_is_the_emails_not_the_phones(
    deps: Deps,
) -> None:
    # Probe 195: Bruno proved his phone; Ana ordered with her new email and that phone
    # (a household's, or a slip). Bruno's token read her order, address and email; her
    # own proof of the email showed her nothing; erasing Bruno wiped her order.
    phone, email = _phone(), _email("ana")
    bruno = flows.place(deps, customer={"phone": phone, "name": "Bruno"}).customer_id
    assert bruno is not None and _prove(deps, phone).resolution.customer_id == bruno
    address = {"name": "Ana", "line1": "Calle Secreta 3", "city": "Madrid"}
    anas = flows.projected(
        deps,
        flows.place(
            deps,
            customer={"email": email, "phone": phone, "name": "Ana"},
            shipping_address=address | {"postal_code": "28013", "country": "ES"},
        ),
    )
    assert anas.customer_id == bruno and anas.customer_unvouched

    listed, view, export = _seen_by(deps, bruno, by_token=True)
    assert anas.order_id not in listed
    for hers in (email, "Calle Secreta"):
        assert hers not in view and hers not in export
    ana = _prove(deps, email).resolution.customer_id
    assert ana != bruno
    assert anas.order_id in _seen_by(deps, ana, by_token=True)[0]

    customer_records.erase_customer(bruno, "ops", "ops", deps)

    kept = deps.store.get_order(anas.order_id)
    assert (kept.contact.email, kept.contact.phone, kept.contact.name) == (email, None, "Ana")
    assert kept.shipping_address is not None and kept.shipping_address.line1 == "Calle Secreta 3"
    customer_records.erase_customer(ana, "ops", "ops", deps)
    gone = deps.store.get_order(anas.order_id).model_dump_json()
    assert email not in gone and "Calle Secreta" not in gone and '"Ana"' not in gone


def test_pre_registering_an_email_with_ones_own_phone_reads_none_of_its_later_orders(
    deps: Deps,
) -> None:
    # C (C1): nobody is known yet; the attacker registers the victim's email (founding)
    # with its own phone, and the victim's later orders by email land on that record.
    victim_email, attacker_phone = _email("victim"), _phone()
    registered = resolve_customer(CustomerRef(email=victim_email, phone=attacker_phone), deps)
    assert registered.created
    later = flows.place(deps, customer={"email": victim_email, "name": "Vera"})
    assert later.customer_id == registered.customer_id

    proven = _prove(deps, attacker_phone)

    _assert_split_off(deps, proven, registered.customer_id, attacker_phone)
    assert later.order_id not in str(export_customer(proven.resolution.customer_id, deps))
    # The email founded the record: the victim's proof of it is the record's.
    assert _prove(deps, victim_email).resolution.customer_id == registered.customer_id


def test_a_claim_naming_a_known_email_with_ones_own_phone_proves_nothing_of_its_owner(
    deps: Deps,
) -> None:
    # D: a claim of the attacker's own anonymous store order, naming the victim's email.
    victim_email, attacker_phone = _email("victim"), _phone()
    victim = flows.place(deps, customer={"email": victim_email}).customer_id
    anonymous = flows.place(deps, channel="store", store_id="ST-MADRID", customer=None)
    assert anonymous.receipt_code is not None
    ref = CustomerRef(email=victim_email, phone=attacker_phone)
    claimed = customer_records.claim_order(anonymous.order_id, anonymous.receipt_code, ref, deps)
    assert claimed.customer_id == victim

    proven = _prove(deps, attacker_phone)

    assert victim is not None
    _assert_split_off(deps, proven, victim, attacker_phone)


def test_a_customer_created_by_an_order_proves_its_email_into_that_record(deps: Deps) -> None:
    email, phone = _email("ana"), _phone()
    placed = flows.place(deps, customer={"email": email, "phone": phone, "name": "Ana"})

    proven = _prove(deps, email)

    assert proven.resolution.customer_id == placed.customer_id
    assert not proven.resolution.created
    assert placed.customer_id is not None
    assert token_grants(proven.token.token, placed.customer_id, deps)
    assert _identifiers(deps, placed.customer_id) == {email, phone}
    assert _candidates(deps, placed.customer_id) == set()


def test_proving_a_phone_attached_later_founds_its_own_record(deps: Deps) -> None:
    email, phone = _email("ana"), _phone()
    first = flows.place(deps, customer={"email": email, "name": "Ana"})
    flows.place(deps, customer={"email": email, "phone": phone})  # the phone attached
    assert first.customer_id is not None

    proven = _prove(deps, phone)

    _assert_split_off(deps, proven, first.customer_id, phone)
    assert first.order_id not in str(export_customer(proven.resolution.customer_id, deps))
    # Proven once, the phone is its new record's for good.
    assert _prove(deps, phone).resolution.customer_id == proven.resolution.customer_id


def test_an_ops_merge_of_the_split_records_proves_nothing_on_the_survivor(deps: Deps) -> None:
    # Ops decides the merge candidate: one person. A merge is that guess, not a proof, so
    # nothing the merged-in record held is vouched for on the survivor: the phone proven
    # on the split record splits off again if proven again, and the token issued for the
    # merged-in record opens neither record. The survivor's own founding email still
    # proves into it. (This test pinned the opposite before: the proven phone stayed
    # vouched and then opened the survivor, which is the takeover of the next test.)
    email, phone, loyalty = _email("ana"), _phone(), f"L{uuid.uuid4().hex[:8].upper()}"
    owner = flows.place(deps, customer={"email": email}).customer_id
    assert owner is not None
    resolve_customer(CustomerRef(email=email, phone=phone, loyalty_id=loyalty), deps)
    split = _prove(deps, phone)
    fresh = split.resolution.customer_id

    customer_records.merge_customers(owner, fresh, "ops", "ops", deps)

    phone_claim = deps.customers.identifier_claim(
        Identifier(type=IdentifierType.PHONE, value=phone)
    )
    assert phone_claim is not None and phone_claim.customer_id == owner
    assert not phone_claim.vouched
    assert not token_grants(split.token.token, fresh, deps)
    assert not token_grants(split.token.token, owner, deps)
    again = _prove(deps, phone)
    _assert_split_off(deps, again, owner, phone)
    assert again.resolution.customer_id != fresh
    assert _prove(deps, email).resolution.customer_id == owner
    loyalty_claim = deps.customers.identifier_claim(
        Identifier(type=IdentifierType.LOYALTY_ID, value=loyalty)
    )
    assert loyalty_claim is not None and not loyalty_claim.vouched


def test_an_ops_merge_of_the_suggested_candidate_gives_the_attacker_nothing(deps: Deps) -> None:
    # R1: the attacker names the victim's email with its own phone, proves the phone (a
    # split record and a merge candidate on the victim's), and ops merges the candidate
    # into the victim's record. Neither the attacker's token nor a new proof of its phone
    # opens the victim's record.
    victim_email, attacker_phone = _email("victim"), _phone()
    victim = flows.place(deps, customer={"email": victim_email, "name": "Vera"}).customer_id
    assert victim is not None
    resolve_customer(CustomerRef(email=victim_email, phone=attacker_phone), deps)
    attacker = _prove(deps, attacker_phone)
    split = attacker.resolution.customer_id
    assert split in _candidates(deps, victim)

    customer_records.merge_customers(victim, split, "ops", "ops", deps)

    assert not token_grants(attacker.token.token, split, deps)  # names the victim now
    assert not token_grants(attacker.token.token, victim, deps)
    again = _prove(deps, attacker_phone)
    _assert_split_off(deps, again, victim, attacker_phone)
    assert "Vera" not in str(export_customer(again.resolution.customer_id, deps))
    assert _prove(deps, victim_email).resolution.customer_id == victim


def test_a_confirmation_when_no_code_was_sent_is_a_wrong_code(deps: Deps) -> None:
    address = _email("nobody")
    for _ in range(verification.MAX_WRONG_CODES):
        with pytest.raises(Unprocessable) as raised:
            verification.confirm_code(address, None, "123456", deps)
        assert raised.value.field == "code"

    # Locked as an address with a code pending would be: the lockout tells nothing either.
    with pytest.raises(TooManyAttempts):
        verification.confirm_code(address, None, "123456", deps)


def _seen_by(deps: Deps, customer_id: str, by_token: bool) -> tuple[set[str], str, str]:
    """The ids of the orders the 360 view lists, and the whole view and export as text."""
    view = customer_view.customer_view(customer_id, deps, by_token=by_token)
    export = export_customer(customer_id, deps, by_token=by_token)
    return {o["order_id"] for o in view["orders"]}, str(view), str(export)


def _figures(deps: Deps, customer_id: str, by_token: bool) -> list[dict[str, Any]]:
    """The figures the 360 view and the export show."""
    return [
        customer_view.customer_view(customer_id, deps, by_token=by_token)["metrics"],
        export_customer(customer_id, deps, by_token=by_token)["metrics"],
    ]


def _phone_of(deps: Deps, customer_id: str) -> str:
    """The phone a customer record lists."""
    return next(
        i.value for i in deps.customers.identifiers(customer_id) if i.type is IdentifierType.PHONE
    )


def _founded_with_an_unused_phone(deps: Deps) -> tuple[str, str, Order, Order]:
    """E: the attacker founds a record with its own email and a phone nobody has used
    yet; the phone's owner later shops by phone alone, and the order lands on that
    record. (attacker's email, record, the attacker's own order, the victim's order)"""
    attacker_email, victim_phone = _email("attacker"), _phone()
    founded = resolve_customer(CustomerRef(email=attacker_email, phone=victim_phone), deps)
    assert founded.created and not founded.unvouched
    own = flows.projected(deps, flows.reserved(deps, customer={"email": attacker_email}))
    victims = flows.projected(
        deps,
        flows.reserved(
            deps,
            customer={"phone": victim_phone, "name": "Vera Victima"},
            lines=[{"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship"}],
        ),
    )
    assert own.customer_id == victims.customer_id == founded.customer_id
    return attacker_email, founded.customer_id, own, victims


def _split_after_a_ticket(deps: Deps) -> tuple[str, Order, Order, Ticket, str]:
    """E, then staff open a ticket about the victim's order and the victim proves the
    phone (a record split off the attacker's): (the attacker's record, the attacker's own
    order, the victim's order, the ticket, the split record)."""
    _, record, own, victims = _founded_with_an_unused_phone(deps)
    ticket = tickets.open_ticket(
        record, "question", "Victima asks", "Where is it", victims.order_id, "phone", deps
    )
    split = _prove(deps, _phone_of(deps, record)).resolution.customer_id
    assert split != record
    return record, own, victims, ticket, split


def test_a_phone_named_at_founding_opens_none_of_its_owners_later_orders(deps: Deps) -> None:
    # E: matching stays generous (the retailer's 360 joins them), but only the attached
    # phone led the victim's order there: the founder's token does not open it.
    attacker_email, record, own, victims = _founded_with_an_unused_phone(deps)
    assert victims.customer_unvouched and not own.customer_unvouched
    assert deps.store.get_order(victims.order_id).customer_unvouched  # as stored
    ticket = tickets.open_ticket(
        record, "complaint", "Roto", "Llego roto", victims.order_id, "phone", deps
    )

    proven = _prove(deps, attacker_email)

    assert proven.resolution.customer_id == record and token_grants(
        proven.token.token, record, deps
    )
    listed, view, export = _seen_by(deps, record, by_token=True)
    assert listed == {own.order_id}
    for text in (view, export):
        assert victims.order_id not in text and "Vera Victima" not in text
        assert ticket.ticket_id not in text and own.order_id in text
    assert ticket.customer_unvouched  # what GET /tickets/{id} reads for the token
    # The figures count the founder's own purchase only (the victim's bought one T-shirt).
    for figures in _figures(deps, record, by_token=True):
        assert figures["order_count"] == 1
        assert figures["lifetime_value"]["amount"] == str(own.total.amount)
    # Staff see everything the record holds: a person decides what belongs together.
    listed, view, export = _seen_by(deps, record, by_token=False)
    assert listed == {own.order_id, victims.order_id}
    assert ticket.ticket_id in view and "Vera Victima" in export
    for figures in _figures(deps, record, by_token=False):
        assert figures["order_count"] == 2
        assert figures["lifetime_value"]["amount"] == str(own.total.amount + victims.total.amount)


def test_an_order_naming_a_vouched_identifier_with_an_attached_one_is_the_records(
    deps: Deps,
) -> None:
    # The honest shopper who gave an email and a phone, then orders with both again, and
    # a new shopper's first order: the record was founded by them, the token opens them.
    email, phone = _email("honest"), _phone()
    first = flows.projected(deps, flows.place(deps, customer={"email": email, "phone": phone}))
    again = flows.projected(deps, flows.place(deps, customer={"phone": phone, "email": email}))
    assert not first.customer_unvouched and not again.customer_unvouched
    assert first.customer_id is not None

    listed, _, _ = _seen_by(deps, first.customer_id, by_token=True)

    assert listed == {first.order_id, again.order_id}


def test_a_claim_made_through_an_attached_phone_is_left_out_of_the_founders_token_view(
    deps: Deps,
) -> None:
    # E through a claim: the victim claims their anonymous store order with their phone,
    # which the attacker named at founding.
    attacker_email, victim_phone = _email("attacker"), _phone()
    record = resolve_customer(CustomerRef(email=attacker_email, phone=victim_phone), deps)
    anonymous = flows.place(deps, channel="store", store_id="ST-MADRID", customer=None)
    assert anonymous.receipt_code is not None

    claimed = customer_records.claim_order(
        anonymous.order_id, anonymous.receipt_code, CustomerRef(phone=victim_phone), deps
    )

    assert claimed.customer_id == record.customer_id and claimed.unvouched
    stored = deps.store.get_order(anonymous.order_id)
    assert stored.customer_unvouched
    flows.projected(deps, stored)
    listed, _, export = _seen_by(deps, record.customer_id, by_token=True)
    assert listed == set() and anonymous.order_id not in export


def test_an_order_naming_a_record_that_lists_attached_identifiers_by_id_is_hidden(
    deps: Deps,
) -> None:
    # L2: staff look the victim up by the attached phone (the record's id comes back) and
    # place the order by that id: the id alone cannot tell who was served.
    attacker_email, record, own, _ = _founded_with_an_unused_phone(deps)
    by_id = flows.projected(deps, flows.place(deps, customer={"customer_id": record}))
    with_vouched = flows.place(deps, customer={"customer_id": record, "email": attacker_email})
    only_vouched = _email("alone")
    alone = flows.place(deps, customer={"email": only_vouched})
    assert alone.customer_id is not None
    alone_by_id = flows.place(deps, customer={"customer_id": alone.customer_id})

    assert by_id.customer_id == record and by_id.customer_unvouched
    assert with_vouched.customer_id == record and not with_vouched.customer_unvouched
    assert not alone_by_id.customer_unvouched  # nothing attached: the id is the record's
    listed, _, export = _seen_by(deps, record, by_token=True)
    assert by_id.order_id not in listed and by_id.order_id not in export
    assert own.order_id in listed


def test_what_staff_note_on_a_record_listing_attached_identifiers_is_hidden_from_its_token(
    deps: Deps,
) -> None:
    # L6: staff find the caller by the attached phone and note their new address, or open
    # a ticket about no order: it may be someone else than the record's founder.
    _, record, _, _ = _founded_with_an_unused_phone(deps)
    noted = customer_view.add_interaction(
        record, "call", "phone", "Vera: nueva direccion Calle Secreta 9", "store", deps
    )
    ticket = tickets.open_ticket(
        record, "question", "Cambio", "Calle Secreta 9", None, "phone", deps
    )
    alone = flows.place(deps, customer={"email": _email("alone")}).customer_id
    assert alone is not None
    plain = customer_view.add_interaction(alone, "call", "phone", "Llamo", "store", deps)

    assert ticket.customer_unvouched
    view = customer_view.customer_view(record, deps, by_token=True)
    export = export_customer(record, deps, by_token=True)
    for text in (str(view), str(export)):
        assert "Calle Secreta" not in text
        assert noted["interaction_id"] not in text and ticket.ticket_id not in text
    staff = str(customer_view.customer_view(record, deps)) + str(export_customer(record, deps))
    assert noted["interaction_id"] in staff and ticket.ticket_id in staff
    # Nothing attached to the record: what staff note is its owner's to see.
    mine = customer_view.customer_view(alone, deps, by_token=True)
    assert [i["interaction_id"] for i in mine["interactions"]] == [plain["interaction_id"]]


@pytest.mark.parametrize("survivor_is_founders", [True, False])
def test_a_merge_opens_nothing_it_brought_to_the_survivors_token(
    deps: Deps, survivor_is_founders: bool
) -> None:
    # L8: the phone's owner proves it (a record split off the founder's, with a merge
    # candidate), orders and asks a question on it; ops merge the two, either way.
    attacker_email, record, own, _ = _founded_with_an_unused_phone(deps)
    phone = _phone_of(deps, record)
    victim = _prove(deps, phone)
    split = victim.resolution.customer_id
    later = flows.projected(deps, flows.reserved(deps, customer={"phone": phone, "name": "Vera"}))
    assert later.customer_id == split and not later.customer_unvouched
    question = tickets.open_ticket(split, "question", "Vera pregunta", "d", None, "web", deps)
    survivor, merged = (record, split) if survivor_is_founders else (split, record)
    customer_records.merge_customers(survivor, merged, "ops", "ops", deps)
    brought = later if survivor_is_founders else own
    # A later event of the order brought, projected into the survivor's 360: still marked.
    (parcel,) = brought.fulfillments
    fulfillment_steps.dispatch_fulfillment(
        FulfillmentStep(order_id=brought.order_id, fulfillment_id=parcel.fulfillment_id), deps
    )
    flows.projected(deps, deps.store.get_order(brought.order_id))
    survivors_token = _prove(deps, attacker_email if survivor_is_founders else phone)

    assert token_grants(survivors_token.token.token, survivor, deps)
    listed, view, export = _seen_by(deps, survivor, by_token=True)
    assert brought.order_id not in listed and brought.order_id not in export
    if survivor_is_founders:
        assert question.ticket_id not in view and question.ticket_id not in export
        assert tickets.get_ticket(question.ticket_id, deps).customer_unvouched
    # N1: a ticket opened after the merge about an order it brought: hidden, not mailed.
    later_ticket = tickets.open_ticket(
        survivor, "question", "s", "d", brought.order_id, "web", deps
    )
    assert later_ticket.customer_unvouched
    if survivor_is_founders:  # the phone-only order gave no address of its own
        assert _mailed_about(deps, later_ticket.ticket_id) == []
    # N2: not even who the merged record was (probe 195: ``merges`` still named it).
    by_token = export_customer(survivor, deps, by_token=True)
    assert (by_token["merged_records"], by_token["merges"]) == ([], [])
    assert merged not in json.dumps(by_token)
    by_ops = export_customer(survivor, deps)
    assert by_ops["merged_records"] != [] and by_ops["merges"] != []
    listed, _, _ = _seen_by(deps, survivor, by_token=False)
    assert brought.order_id in listed  # ops see what the merge brought


def test_erasing_the_phones_owner_erases_what_their_phone_brought_to_the_founders_record(
    deps: Deps,
) -> None:
    # L9: the victim's orders by the attached phone stayed on the founder's record after
    # the victim proved the phone; their erasure must reach them, and nothing else there.
    attacker_email, record, own, victims = _founded_with_an_unused_phone(deps)
    assert victims.contact.phone is not None
    their_ticket = tickets.open_ticket(
        record, "question", "Vera: mi paquete", "Calle Secreta 9", victims.order_id, "web", deps
    )
    founders_ticket = tickets.open_ticket(
        record, "question", "Founder asks", "d", own.order_id, "web", deps
    )
    split = _prove(deps, victims.contact.phone).resolution.customer_id

    customer_records.erase_customer(split, "ops", "ops", deps)

    theirs = deps.store.get_order(victims.order_id)
    assert theirs.contact.phone is None and theirs.contact.name is None
    assert theirs.shipping_address is not None and theirs.shipping_address.line1 != "Calle Mayor 1"
    redacted = tickets.get_ticket(their_ticket.ticket_id, deps)
    assert "Vera" not in redacted.subject and "Calle Secreta" not in redacted.description
    staff_view = str(customer_view.customer_view(record, deps))
    assert "Vera: mi paquete" not in staff_view and "Founder asks" in staff_view
    # The founder's own order and ticket are theirs: untouched.
    assert deps.store.get_order(own.order_id).contact.email == attacker_email
    assert tickets.get_ticket(founders_ticket.ticket_id, deps).subject == "Founder asks"


def test_a_record_id_looked_up_by_a_phone_later_split_off_still_proves_nothing(
    deps: Deps,
) -> None:
    # N3: a storefront or staff looked the phone up while it was attached (the founder's
    # id came back); its owner then proves it. Acting by that id later is still unsure.
    attacker_email, record, _, _ = _founded_with_an_unused_phone(deps)
    phone = _phone_of(deps, record)
    assert lookup_customer(None, phone, None, deps).customer_id == record
    assert _prove(deps, phone).resolution.customer_id != record
    assert [i.value for i in deps.customers.identifiers(record)] == [attacker_email]

    by_id = flows.place(deps, customer={"customer_id": record})
    with_phone = flows.place(deps, customer={"customer_id": record, "phone": phone})
    with_email = flows.place(deps, customer={"customer_id": record, "email": attacker_email})
    noted = customer_view.add_interaction(record, "call", "phone", "Vera", "store", deps)

    assert by_id.customer_unvouched and with_phone.customer_unvouched
    assert not with_email.customer_unvouched
    assert noted[UNVOUCHED] is True


def _mailed_about(deps: Deps, ticket_id: str) -> list[str]:
    """Mail the ticket's opening as the email subscriber does; the addresses it went to."""
    assert isinstance(deps.mailer, Outgoing)
    before = len(deps.mailer.sent)
    event = {"type": "ticket.opened", "ticket_id": ticket_id, "event_id": uuid.uuid4().hex}
    tickets.mail_ticket_event(event, deps)
    return [str(mail["to"]) for mail in deps.mailer.sent[before:]]


def test_a_ticket_is_never_mailed_to_an_address_merely_attached_to_the_record(
    deps: Deps,
) -> None:
    # Anyone may name their own email next to someone's phone: it joins that person's
    # record, unproven. Their tickets' emails must not go there.
    victim_phone, attacker_email = _phone(), _email("0000-attacker")
    victim = flows.place(deps, customer={"phone": victim_phone, "name": "Vera"})
    attached = resolve_customer(CustomerRef(email=attacker_email, phone=victim_phone), deps)
    assert attached.customer_id == victim.customer_id
    about_order = tickets.open_ticket(
        victim.customer_id, "question", "Mi pedido", "d", victim.order_id, "web", deps
    )
    not_about_order = tickets.open_ticket(
        victim.customer_id, "question", "Otra cosa", "d", None, "web", deps
    )

    assert _mailed_about(deps, about_order.ticket_id) == []
    assert _mailed_about(deps, not_about_order.ticket_id) == []
    # With an address of their own, vouched for: about their order, to the address given
    # with it, never to an attached one that sorts first; about no order, nobody can tell
    # whom staff served, so no email goes out.
    own_email, own_phone = _email("zz-victim"), _phone()
    founded = flows.place(deps, customer={"email": own_email, "phone": own_phone})
    named = resolve_customer(CustomerRef(email=_email("0000-attacker"), phone=own_phone), deps)
    assert named.customer_id == founded.customer_id
    emails = sorted(v for v in _identifiers(deps, named.customer_id) if "@" in v)
    assert emails[0].startswith("0000-attacker")
    about = tickets.open_ticket(
        named.customer_id, "question", "s", "d", founded.order_id, "web", deps
    )
    nothing = tickets.open_ticket(named.customer_id, "question", "s", "d", None, "phone", deps)
    assert _mailed_about(deps, about.ticket_id) == [own_email]
    assert nothing.customer_unvouched and _mailed_about(deps, nothing.ticket_id) == []
    # A record listing nothing attached: its ticket about no order goes to its address.
    alone = flows.place(deps, customer={"email": _email("alone")})
    assert alone.customer_id is not None
    plain = tickets.open_ticket(alone.customer_id, "question", "s", "d", None, "phone", deps)
    assert not plain.customer_unvouched
    assert _mailed_about(deps, plain.ticket_id) == [alone.contact.email]


def test_a_ticket_email_to_an_orders_address_greets_the_name_given_with_the_order(
    deps: Deps,
) -> None:
    # G1: anyone may look a phone up and order by the record's id with their own address;
    # the ticket email to that address must not greet them by the record's name.
    victim = flows.place(deps, customer={"phone": _phone(), "name": "Veronica Secreta"})
    assert victim.customer_id is not None
    attacker_email = _email("att")
    placed = flows.place(
        deps, customer={"customer_id": victim.customer_id, "email": attacker_email, "name": "Att"}
    )
    assert placed.customer_id == victim.customer_id
    ticket = tickets.open_ticket(
        victim.customer_id, "question", "hi", "x", placed.order_id, "web", deps
    )
    assert isinstance(deps.mailer, Outgoing)
    before = len(deps.mailer.sent)

    assert _mailed_about(deps, ticket.ticket_id) == [attacker_email]
    (mail,) = deps.mailer.sent[before:]
    assert "Veronica" not in str(mail) and "Att" in str(mail["parts"])


def test_a_ticket_about_an_order_is_mailed_to_the_address_given_with_it(deps: Deps) -> None:
    attacker_email, record, own, victims = _founded_with_an_unused_phone(deps)
    with_email = flows.place(
        deps, customer={"phone": victims.contact.phone, "email": _email("victim")}
    )
    assert with_email.customer_id == record and with_email.customer_unvouched
    about_own = tickets.open_ticket(record, "question", "s", "d", own.order_id, "web", deps)
    about_victims = tickets.open_ticket(record, "question", "s", "d", victims.order_id, "web", deps)
    about_mail = tickets.open_ticket(record, "question", "s", "d", with_email.order_id, "web", deps)

    assert _mailed_about(deps, about_own.ticket_id) == [attacker_email]
    assert _mailed_about(deps, about_victims.ticket_id) == []  # phone only: nobody to mail
    assert _mailed_about(deps, about_mail.ticket_id) == [with_email.contact.email]


def test_the_token_shows_only_vouched_identifiers_and_nothing_the_hidden_orders_bring(
    deps: Deps,
) -> None:
    # The victim orders with the attached phone and an email of theirs (attached too now),
    # subscribes to a back-in-stock email with it and rates a delivered order 1.
    attacker_email, record, _, _ = _founded_with_an_unused_phone(deps)
    victim_phone = _phone_of(deps, record)
    victim_email = _email("victim")
    delivered = flows.projected(
        deps, flows.delivered(deps, customer={"phone": victim_phone, "email": victim_email})
    )
    assert delivered.customer_id == record and delivered.customer_unvouched
    opportunities.subscribe_back_in_stock("TSHIRT-BLK-M", victim_email, deps)
    token = survey_links.survey_url(delivered.order_id, deps).rsplit("/", 1)[1]
    surveys.answer(surveys.order_of_token(token, deps), SurveyAnswer(score=1), deps)
    # An order naming the victim's phone and someone else's known email: a merge candidate
    # for ops between the two records.
    elsewhere = _email("elsewhere")
    flows.place(deps, customer={"email": elsewhere})
    flows.place(deps, customer={"email": elsewhere, "phone": victim_phone})

    view = customer_view.customer_view(record, deps, by_token=True)
    export = export_customer(record, deps, by_token=True)

    for shown in (view["identifiers"], export["identifiers"]):
        assert shown == [{"type": "email", "value": attacker_email}]
    assert victim_email not in str(view) and victim_email not in str(export)
    assert export["subscriptions"] == [] and export["opportunities"] == []
    assert view["metrics"]["satisfaction"] is None and export["survey_answers"] == []
    assert export["metrics"]["satisfaction"] is None
    assert view["merge_candidates"] == []
    # Staff see all of it; the export's satisfaction is its answers' (a probe found it
    # always null there).
    staff = customer_view.customer_view(record, deps)
    assert victim_email in str(staff) and staff["metrics"]["satisfaction"] == 1.0
    assert export_customer(record, deps)["metrics"]["satisfaction"] == 1.0
    assert staff["merge_candidates"] != []
    assert export_customer(record, deps)["subscriptions"] != []


def test_the_tokens_pages_are_filled_without_hidden_orders(deps: Deps) -> None:
    attacker_email, record, own, victims = _founded_with_an_unused_phone(deps)
    phone = victims.contact.phone
    mine = [own.order_id]
    for n in range(3):
        mine.append(
            flows.projected(deps, flows.place(deps, customer={"email": attacker_email})).order_id
        )
        flows.projected(deps, flows.place(deps, customer={"phone": phone, "name": f"V{n}"}))

    listed: list[str] = []
    cursor = None
    while True:
        page = customer_view.customer_view(record, deps, cursor=cursor, limit=1, by_token=True)
        assert len(page["orders"]) == 1  # never an empty page with a cursor
        listed += [o["order_id"] for o in page["orders"]]
        cursor = page["orders_next_cursor"]
        if cursor is None:
            break

    assert len(listed) == len(mine) and set(listed) == set(mine)


def test_the_tokens_interactions_are_filled_past_those_about_hidden_orders(deps: Deps) -> None:
    # A probe: after a merge, the customer's own view showed no interaction at all, because
    # the newest 50 were all about the orders the merge brought.
    _, record, own, victims = _founded_with_an_unused_phone(deps)
    mine = {"interaction_id": "int-mine", "at": "2026-01-01T00:00:00+00:00", "type": "call"}
    deps.customers.add_interaction(record, mine | {"order_id": own.order_id, "summary": "mine"})
    for n in range(customer_view.RECENT_ITEMS + 5):
        deps.customers.add_interaction(
            record,
            {
                "interaction_id": f"int-theirs-{n}",
                "at": f"2026-02-01T00:00:{n:02d}+00:00",
                "type": "call",
                "order_id": victims.order_id,
                "summary": "theirs",
            },
        )

    # ... or marked as maybe someone else's (staff notes on a record an attached identifier
    # found; the re-probe's case), about no order.
    for n in range(customer_view.RECENT_ITEMS + 5):
        deps.customers.add_interaction(
            record,
            {
                "interaction_id": f"int-unsure-{n}",
                "at": f"2026-03-01T00:00:{n:02d}+00:00",
                "type": "call",
                "summary": "unsure",
                UNVOUCHED: True,
            },
        )

    view = customer_view.customer_view(record, deps, by_token=True)

    assert "mine" in [i["summary"] for i in view["interactions"]]
    assert "theirs" not in str(view["interactions"])
    assert "unsure" not in str(view["interactions"])
    staff = customer_view.customer_view(record, deps)
    assert len(staff["interactions"]) == customer_view.RECENT_ITEMS


def test_the_tokens_own_resolved_ticket_stays_past_newer_ones_not_theirs(deps: Deps) -> None:
    # The re-probe: 50 newer resolved tickets marked as maybe someone else's pushed the
    # customer's own resolved ticket out of their view (the export still had it).
    _, record, own, _victims = _founded_with_an_unused_phone(deps)
    mine = tickets.open_ticket(record, "question", "mine", "d", own.order_id, "web", deps)
    tickets.update_ticket(mine.ticket_id, TicketStatus.RESOLVED, None, "ops", deps)
    for n in range(customer_view.RECENT_ITEMS + 2):
        assert isinstance(deps.clock, Clock)
        deps.clock.advance(minutes=1)
        theirs = tickets.open_ticket(record, "question", f"unsure {n}", "d", None, "web", deps)
        assert theirs.customer_unvouched
        tickets.update_ticket(theirs.ticket_id, TicketStatus.RESOLVED, None, "ops", deps)

    view = customer_view.customer_view(record, deps, by_token=True)

    assert [t["ticket_id"] for t in view["tickets"]] == [mine.ticket_id]


def test_staff_see_every_unresolved_ticket_however_many_are_newer(deps: Deps) -> None:
    # A probe: the 360 stopped at the newest 50 tickets, and 59 open ones were out of sight.
    customer_id = flows.place(deps, customer={"email": _email("tickets")}).customer_id
    assert customer_id is not None
    opened = []
    for n in range(customer_view.RECENT_ITEMS + 3):
        deps.clock.advance(minutes=1)
        opened.append(tickets.open_ticket(customer_id, "question", f"s{n}", "d", None, "web", deps))
    # The oldest stays open; the next two and the newest are resolved.
    for ticket in (opened[1], opened[2], opened[-1]):
        tickets.update_ticket(ticket.ticket_id, TicketStatus.RESOLVED, None, "ops", deps)

    listed = [t["ticket_id"] for t in customer_view.customer_view(customer_id, deps)["tickets"]]

    # The newest 50, resolved or not, then the older ones still open, newest first.
    newest = [t.ticket_id for t in reversed(opened)][: customer_view.RECENT_ITEMS]
    assert listed == [*newest, opened[0].ticket_id]


def _erased_split(deps: Deps) -> tuple[str, str, str, str, Order]:
    """A customer who ordered with an email and a phone (the phone attached), proved the
    phone (a record split off theirs) and ordered with it: (owner, split, email, phone,
    the order on the split record)."""
    email, phone = _email("olvido"), _phone()
    first = flows.place(deps, customer={"email": email, "phone": phone, "name": "Ana Olvido"})
    assert first.customer_id is not None
    split = _prove(deps, phone).resolution.customer_id
    assert split != first.customer_id
    later = flows.place(deps, customer={"phone": phone, "name": "Ana Olvido"})
    assert later.customer_id == split
    event = OrderStatusChanged.of(later, later.history[-1]).message()
    assert customer_projection.project_order_event(event, deps)  # in the split record's 360
    return first.customer_id, split, email, phone, later


def test_erasing_a_customer_leaves_the_record_split_off_it_and_names_it(deps: Deps) -> None:
    # Reversed from an earlier reading (R2, "the phone must no longer resolve"): whoever
    # proved the phone may be someone else than the person erased (a probe: one person's
    # erasure took another's record, data and open orders). Ops see the split record in
    # the answer and merge or erase it when it is the person's.
    owner, split, email, phone, later = _erased_split(deps)

    erased = customer_records.erase_customer(owner, "ops", "ops", deps)

    assert erased["erased_records"] == [owner]
    assert erased["split_records"] == [split]
    assert erased["status"] == "completed"
    with pytest.raises(NotFound):
        lookup_customer(email, None, None, deps)
    assert lookup_customer(None, phone, None, deps).customer_id == split
    view = customer_view.customer_view(split, deps)
    assert view["profile"]["state"] == "active" and later.order_id in str(view)
    assert deps.store.get_order(later.order_id).contact.name == "Ana Olvido"
    assert deps.customers.erasure(split) is None
    # Repeating the call is harmless and answers the same records.
    again = customer_records.erase_customer(owner, "ops", "ops", deps)
    assert again["erased_records"] == [owner] and again["at"] == erased["at"]
    assert again["split_records"] == [split]
    # Erasing the split record too erases the phone.
    customer_records.erase_customer(split, "ops", "ops", deps)
    with pytest.raises(NotFound):
        lookup_customer(None, phone, None, deps)


def test_erasing_the_founder_leaves_what_the_proven_phone_alone_brought(deps: Deps) -> None:
    # The attacker founds a record with the victim's phone; the victim orders by phone
    # alone (the order lands on the attacker's record), then proves the phone. Erasing the
    # attacker erases nothing of the victim's: their order, its ticket, its late events.
    record, own, victims, ticket, split = _split_after_a_ticket(deps)
    phone = victims.contact.phone

    erased = customer_records.erase_customer(record, "ops", "ops", deps)

    assert erased["split_records"] == [split]
    assert victims.order_id not in erased["cancelled_orders"]
    kept = deps.store.get_order(victims.order_id)
    assert (kept.contact.name, kept.contact.phone) == ("Vera Victima", phone)
    assert kept.status is not OrderStatus.CANCELLED
    assert deps.store.get_order(own.order_id).contact.email is None
    still = deps.customers.get_ticket(ticket.ticket_id)
    assert still is not None and still.description == "Where is it"
    # The victim's order's next event reaches the erased record's projection: left alone.
    for each in victims.fulfillments:
        step = FulfillmentStep(order_id=victims.order_id, fulfillment_id=each.fulfillment_id)
        fulfillment_steps.dispatch_fulfillment(step, deps)
    shipped = flows.projected(deps, deps.store.get_order(victims.order_id))
    assert shipped.status is OrderStatus.SHIPPED
    assert deps.store.get_order(shipped.order_id).contact.name == "Vera Victima"
    assert [o["order_id"] for o in export_customer(split, deps)["orders"]] == [victims.order_id]


def test_erasing_a_split_off_record_takes_its_phone_off_the_founders_orders(
    deps: Deps,
) -> None:
    # The founder's own order named the victim's phone next to the founder's email: the
    # phone is the victim's, and goes with the victim's erasure (a probe found it left in
    # the founder's export); the founder's order keeps everything else.
    attacker_email, record, _, _ = _founded_with_an_unused_phone(deps)
    phone = _phone_of(deps, record)
    named = flows.projected(
        deps, flows.reserved(deps, customer={"customer_id": record, "phone": phone})
    )
    named_with_email = flows.projected(
        deps,
        # Typed with spaces: the contact keeps it so; the identifier is E.164.
        flows.reserved(
            deps,
            customer={"email": attacker_email, "phone": f"{phone[:3]} {phone[3:]}", "name": "Ma"},
        ),
    )
    split = _prove(deps, phone).resolution.customer_id

    customer_records.erase_customer(split, "ops", "ops", deps)

    for order in (named, named_with_email):
        contact = deps.store.get_order(order.order_id).contact
        assert contact.phone is None, order.order_id
    assert deps.store.get_order(named_with_email.order_id).contact.email == attacker_email
    assert phone not in json.dumps(export_customer(record, deps))


def test_erasing_a_split_off_record_erases_nothing_it_was_split_from(deps: Deps) -> None:
    # The record an identifier was split off may be someone else's: the attacker who
    # named the victim's email next to its own phone, then proved the phone, asks for
    # the erasure of its own record; the victim's stays whole.
    victim_email, attacker_phone = _email("victim"), _phone()
    victim = flows.place(deps, customer={"email": victim_email, "name": "Vera"}).customer_id
    assert victim is not None
    resolve_customer(CustomerRef(email=victim_email, phone=attacker_phone), deps)
    split = _prove(deps, attacker_phone).resolution.customer_id

    erased = customer_records.erase_customer(split, "ops", "ops", deps)

    assert erased["erased_records"] == [split]
    assert lookup_customer(victim_email, None, None, deps).customer_id == victim
    assert customer_view.customer_view(victim, deps)["profile"]["name"] == "Vera"
    with pytest.raises(NotFound):
        lookup_customer(None, attacker_phone, None, deps)


def test_once_the_phone_is_proven_its_owners_order_leaves_the_founders_export(
    deps: Deps,
) -> None:
    # The export is a document for the person it names: the victim's order, which their
    # phone alone brought to the attacker's record, is not in the attacker's export even
    # as ops read it, once the victim proved the phone; it is in the victim's.
    _, record, own, victims = _founded_with_an_unused_phone(deps)
    assert victims.order_id in json.dumps(export_customer(record, deps))  # not proven yet
    phone = _phone_of(deps, record)

    ticket = tickets.open_ticket(
        record, "question", "Victima asks", "Where is it", victims.order_id, "phone", deps
    )

    split = _prove(deps, phone).resolution.customer_id

    assert split != record
    founders = export_customer(record, deps)
    assert victims.order_id not in json.dumps(founders)
    assert "Vera Victima" not in json.dumps(founders)
    assert [o["order_id"] for o in founders["orders"]] == [own.order_id]
    assert ticket.ticket_id not in json.dumps(founders)
    # The figures are those of the orders listed (the re-probe: they still counted it).
    assert founders["metrics"]["order_count"] == 1
    assert founders["metrics"]["lifetime_value"]["amount"] == str(own.total.amount)
    for by_token in (False, True):
        theirs = export_customer(split, deps, by_token=by_token)
        assert [o["order_id"] for o in theirs["orders"]] == [victims.order_id]
        assert [t["ticket_id"] for t in theirs["tickets"]] == [ticket.ticket_id]
        assert [c["order_id"] for c in theirs["consents"]] == [victims.order_id]
        assert theirs["metrics"]["order_count"] == 1
        assert theirs["metrics"]["lifetime_value"]["amount"] == str(victims.total.amount)


def test_after_a_split_the_360s_list_what_the_exports_list(deps: Deps) -> None:
    # Found by a probe: the founder's 360 kept the order the victim's phone alone brought
    # (with its ticket and figures) while the founder's export left it out, and the
    # victim's export listed it while the victim's 360 and page did not.
    record, own, victims, ticket, split = _split_after_a_ticket(deps)
    later = flows.projected(deps, flows.reserved(deps, customer={"phone": victims.contact.phone}))
    assert later.customer_id == split
    # What was sent about the victim's order is recorded on the founder's record (a
    # re-probe: the victim's 360 listed those texts, the export did not).
    sent = {"interaction_id": "sms-1", "at": "2026-01-01T00:00:00+00:00", "type": "sms"}
    deps.customers.add_interaction(record, sent | {"order_id": victims.order_id, "summary": "x"})

    for customer_id, orders in ((record, [own]), (split, [later, victims])):
        for by_token in (False, True):
            view = customer_view.customer_view(customer_id, deps, by_token=by_token)
            export = export_customer(customer_id, deps, by_token=by_token)
            listed = [o["order_id"] for o in view["orders"]]
            assert sorted(listed) == sorted(o.order_id for o in orders), (customer_id, by_token)
            assert sorted(listed) == sorted(o["order_id"] for o in export["orders"])
            assert view["metrics"] == export["metrics"], (customer_id, by_token)
            assert view["metrics"]["order_count"] == len(orders)
            total = sum(o.total.amount for o in orders)
            assert view["metrics"]["lifetime_value"]["amount"] == str(total)
            for kind in ("tickets", "consents", "interactions"):
                assert sorted(str(t["order_id"]) for t in view[kind]) == sorted(
                    str(t["order_id"]) for t in export[kind]
                ), (customer_id, by_token, kind)
    split_view = customer_view.customer_view(split, deps, by_token=True)
    assert [t["ticket_id"] for t in split_view["tickets"]] == [ticket.ticket_id]
    assert "sms-1" in [i["interaction_id"] for i in export_customer(split, deps)["interactions"]]
    assert [o["placed_at"] for o in split_view["orders"]] == sorted(
        (o["placed_at"] for o in split_view["orders"]), reverse=True
    )
    assert not any(o["customer_unvouched"] for o in split_view["orders"])
    founders = customer_view.customer_view(record, deps)
    assert ticket.ticket_id not in str(founders) and victims.order_id not in str(founders)


def test_after_the_founders_erasure_the_split_record_still_rates_and_asks_about_its_order(
    deps: Deps,
) -> None:
    # Found by a re-probe: the victim's orders still named the erased founder's record, so
    # their survey answered 409 and the tracking page offered no ticket.
    attacker_email, victim_phone = _email("attacker"), _phone()
    record = resolve_customer(CustomerRef(email=attacker_email, phone=victim_phone), deps)
    delivered = flows.projected(deps, flows.delivered(deps, customer={"phone": victim_phone}))
    assert delivered.customer_id == record.customer_id
    split = _prove(deps, victim_phone).resolution.customer_id
    customer_records.erase_customer(record.customer_id, "ops", "ops", deps)

    order = deps.store.get_order(delivered.order_id)
    assert self_service.actions_now(order, deps).allows(CustomerAction.TICKET)
    ticket = self_service.open_ticket(
        order, "Falta una pieza", "d", TicketType.COMPLAINT, "key-1", deps
    )
    token = survey_links.survey_url(order.order_id, deps).rsplit("/", 1)[1]
    surveys.answer(surveys.order_of_token(token, deps), SurveyAnswer(score=2), deps)

    assert ticket.customer_id == split and not ticket.customer_unvouched
    view = customer_view.customer_view(split, deps, by_token=True)
    # The low score opened a complaint too, on the same record.
    assert ticket.ticket_id in {t["ticket_id"] for t in view["tickets"]}
    assert len(view["tickets"]) == 2
    assert view["metrics"]["satisfaction"] == 2.0
    assert customer_view.customer_view(split, deps)["metrics"]["satisfaction"] == 2.0


def test_an_erased_split_records_orders_do_not_come_back_to_the_record_it_left(
    deps: Deps,
) -> None:
    # Found by a re-probe: once erased, the order no longer named the proven phone, so the
    # founder's 360 and export listed (and counted) it again.
    record, own, _, _, split = _split_after_a_ticket(deps)
    before = customer_view.customer_view(record, deps)["metrics"]

    customer_records.erase_customer(split, "ops", "ops", deps)

    for listed in (customer_view.customer_view(record, deps), export_customer(record, deps)):
        assert [o["order_id"] for o in listed["orders"]] == [own.order_id]
        assert listed["metrics"]["order_count"] == before["order_count"] == 1


def test_the_360s_satisfaction_counts_the_answers_of_the_records_merged_in(deps: Deps) -> None:
    # Found by a re-probe: the merged record's answers stayed in its own tally, which the
    # 360 left out while the export counted them.
    first = flows.projected(deps, flows.delivered(deps, customer={"email": _email("first")}))
    second = flows.projected(deps, flows.delivered(deps, customer={"email": _email("second")}))
    assert first.customer_id is not None and second.customer_id is not None
    for order, score in ((first, 5), (second, 1)):
        token = survey_links.survey_url(order.order_id, deps).rsplit("/", 1)[1]
        surveys.answer(surveys.order_of_token(token, deps), SurveyAnswer(score=score), deps)
    customer_records.merge_customers(first.customer_id, second.customer_id, "ops", "ops", deps)

    view = customer_view.customer_view(first.customer_id, deps)

    assert view["metrics"]["satisfaction"] == 3.0
    assert export_customer(first.customer_id, deps)["metrics"]["satisfaction"] == 3.0


def test_an_order_naming_the_phone_with_spaces_goes_with_it_when_proven(deps: Deps) -> None:
    # The contact keeps the phone as typed; the identifier is E.164: compared as E.164.
    attacker_email, victim_phone = _email("attacker"), _phone()
    record = resolve_customer(CustomerRef(email=attacker_email, phone=victim_phone), deps)
    spaced = f"{victim_phone[:3]} {victim_phone[3:6]} {victim_phone[6:]}"
    victims = flows.projected(deps, flows.reserved(deps, customer={"phone": spaced}))
    assert victims.customer_id == record.customer_id

    split = _prove(deps, victim_phone).resolution.customer_id

    listed = customer_view.customer_view(split, deps)
    assert [o["order_id"] for o in listed["orders"]] == [victims.order_id]
    assert victims.order_id not in str(customer_view.customer_view(record.customer_id, deps))


def test_a_split_records_pages_hold_limit_orders_newest_first_each_once(deps: Deps) -> None:
    # Found by a re-probe: every order the proven phone brought was on the first page.
    attacker_email, victim_phone = _email("attacker"), _phone()
    record = resolve_customer(CustomerRef(email=attacker_email, phone=victim_phone), deps)
    brought = [
        flows.projected(deps, flows.reserved(deps, customer={"phone": victim_phone}))
        for _ in range(3)
    ]
    split = _prove(deps, victim_phone).resolution.customer_id
    own = [
        flows.projected(deps, flows.reserved(deps, customer={"phone": victim_phone}))
        for _ in range(2)
    ]
    assert {o.customer_id for o in own} == {split}

    for by_token in (False, True):
        pages, cursor = [], None
        while True:
            page = customer_view.customer_view(split, deps, cursor, limit=2, by_token=by_token)
            pages.append(page["orders"])
            cursor = page["orders_next_cursor"]
            if cursor is None:
                break
        assert [len(p) for p in pages] == [2, 2, 1]
        listed = [o for p in pages for o in p]
        assert sorted(o["order_id"] for o in listed) == sorted(o.order_id for o in brought + own)
        keys = [(o["placed_at"], o["order_id"]) for o in listed]
        assert keys == sorted(keys, reverse=True)
    with pytest.raises(NotFound):
        customer_view.customer_view(split, deps, "at.99", limit=2)
    # An order placed while paging repeats none (a re-probe saw a position cursor do so).
    first = customer_view.customer_view(split, deps, limit=2)
    flows.projected(deps, flows.reserved(deps, customer={"phone": victim_phone}))
    rest = customer_view.customer_view(split, deps, first["orders_next_cursor"], limit=10)
    seen = [o["order_id"] for o in first["orders"] + rest["orders"]]
    assert len(seen) == len(set(seen))
    other = customer_view.customer_view(own[0].customer_id or "", deps, limit=2)
    assert other["orders_next_cursor"] is not None
    with pytest.raises(NotFound):  # another record's cursor
        customer_view.customer_view(record.customer_id, deps, other["orders_next_cursor"])


def test_a_caller_who_opens_some_orders_pages_and_counts_those_alone(deps: Deps) -> None:
    # Found by a re-probe: a store key bound to a store, paging a 360 one order at a time,
    # got empty pages, cursors naming orders it may not open, and figures counting them.
    # A split record's orders come two ways (its own, and those its proven phone brought
    # to the record it was split off): both are left out when the caller may not open them.
    attacker_email, victim_phone = _email("attacker"), _phone()
    resolve_customer(CustomerRef(email=attacker_email, phone=victim_phone), deps)
    brought = [
        flows.projected(deps, flows.reserved(deps, customer={"phone": victim_phone}))
        for _ in range(2)
    ]
    split = _prove(deps, victim_phone).resolution.customer_id
    own = [
        flows.projected(deps, flows.reserved(deps, customer={"phone": victim_phone}))
        for _ in range(2)
    ]
    every = [o.order_id for o in brought + own]
    allowed = {brought[1].order_id, own[0].order_id}
    newest_first = [o["order_id"] for o in customer_view.customer_view(split, deps)["orders"]]
    assert sorted(newest_first) == sorted(every)

    listed, cursor = [], None
    for _ in every:
        page = customer_view.customer_view(split, deps, cursor, limit=1, opens=allowed.__contains__)
        assert len(page["orders"]) == 1
        listed += [o["order_id"] for o in page["orders"]]
        cursor = page["orders_next_cursor"]
        if cursor is None:
            break
        assert not any(hidden in str(page) for hidden in set(every) - allowed)
    assert listed == [order_id for order_id in newest_first if order_id in allowed]
    figures = customer_view.customer_view(split, deps, opens=allowed.__contains__)["metrics"]
    assert figures["order_count"] == len(allowed)


def test_a_merge_of_the_founders_record_leaves_the_split_records_orders_with_it(
    deps: Deps,
) -> None:
    # Found by a re-probe: once the founder's record was merged into another, the split
    # record lost its orders to the survivor, and erasing the survivor erased them.
    record, own, victims, ticket, split = _split_after_a_ticket(deps)
    other = flows.projected(deps, flows.reserved(deps, customer={"email": _email("other")}))
    assert other.customer_id is not None
    customer_records.merge_customers(other.customer_id, record, "ops", "ops", deps)

    for listed in (customer_view.customer_view(split, deps), export_customer(split, deps)):
        assert [o["order_id"] for o in listed["orders"]] == [victims.order_id]
    survivor = customer_view.customer_view(other.customer_id, deps)
    assert victims.order_id not in str(survivor)
    assert {o["order_id"] for o in survivor["orders"]} == {other.order_id, own.order_id}

    customer_records.erase_customer(other.customer_id, "ops", "ops", deps)

    kept = deps.store.get_order(victims.order_id)
    assert kept.contact.name == "Vera Victima" and kept.status is not OrderStatus.CANCELLED
    still = deps.customers.get_ticket(ticket.ticket_id)
    assert still is not None and still.description == "Where is it"


def test_the_projection_keeps_every_identifier_on_an_order_nobody_was_erased_from(
    deps: Deps,
) -> None:
    # A phone named next to another customer's email, whose owner is not erased, and the
    # order's own identifiers stay on the order; so do an email and a phone given with a
    # customer_id, which claim nothing (a re-probe, 6 of 6: a projection that took an
    # unclaimed identifier for an erased one's wiped them, and the customer heard nothing).
    b_email, a_phone, c_email, c_phone = _email("b"), _phone(), _email("c"), _phone()
    b = flows.place(deps, customer={"email": b_email}).customer_id
    flows.place(deps, customer={"phone": a_phone})
    named = flows.projected(
        deps, flows.reserved(deps, customer={"phone": a_phone, "email": b_email})
    )
    own = flows.projected(deps, flows.reserved(deps, customer={"phone": c_phone, "email": c_email}))
    g_email, g_phone = _email("g"), _phone()
    given = flows.projected(
        deps,
        flows.reserved(deps, customer={"customer_id": b, "email": g_email, "phone": g_phone}),
    )
    assert named.customer_id == b == given.customer_id

    for order, email, phone in (
        (named, b_email, a_phone),
        (own, c_email, c_phone),
        (given, g_email, g_phone),
    ):
        contact = deps.store.get_order(order.order_id).contact
        assert (contact.email, contact.phone) == (email, phone)


@pytest.mark.parametrize("by_id", [False, True], ids=["by-email", "by-customer-id"])
@pytest.mark.parametrize("projected_first", [True, False], ids=["projected", "not-yet"])
def test_erasing_a_customer_takes_their_phone_off_another_customers_order_that_named_it(
    deps: Deps, projected_first: bool, by_id: bool
) -> None:
    # Found by a re-probe: an order naming A's phone and B's email found B first; after
    # A's erasure B's export still held A's phone on it. Then (13 of 13): the erasure
    # found the order through B's summary, and missed it when it ran before the order's
    # first event was projected. And an order naming B by id, with A's phone, kept it.
    b_email, a_phone = _email("b"), _phone()
    b = flows.place(deps, customer={"email": b_email}).customer_id
    a = flows.place(deps, customer={"phone": a_phone}).customer_id
    named_b = {"customer_id": b} if by_id else {}
    both = flows.reserved(deps, customer={"phone": a_phone, "email": b_email} | named_b)
    assert both.customer_id == b and a is not None and b is not None
    assert deps.store.get_order(both.order_id).contact_owned_by == {"phone": a}
    if projected_first:
        flows.projected(deps, both)

    customer_records.erase_customer(a, "ops", "ops", deps)
    if not projected_first:
        assert deps.store.get_order(both.order_id).contact.phone  # not found by the erasure
        flows.projected(deps, both)

    contact = deps.store.get_order(both.order_id).contact
    assert (contact.phone, contact.email) == (None, b_email)
    assert deps.store.get_order(both.order_id).contact_owned_by == {}  # A's id goes too
    assert a_phone not in json.dumps(export_customer(b, deps))
    assert a_phone not in str(customer_view.customer_view(b, deps))
    # Nor does B's record keep a merge candidate naming A's phone.
    candidates, _ = deps.customers.records(b, CustomerRecord.CANDIDATES)
    assert a_phone not in str(candidates)

    # Given again after the erasure, the phone is the new order's own: it stays.
    again = flows.reserved(deps, customer={"phone": a_phone, "email": b_email} | named_b)
    again = flows.projected(deps, again)
    assert deps.store.get_order(again.order_id).contact.phone == a_phone


def test_a_code_sent_by_text_says_what_to_do_if_nobody_asked(deps: Deps) -> None:
    # Probe 202: the email said it, the text message did not.
    phone = _phone()
    verification.send_code(None, phone, deps, sender="test-client")

    (text,) = [m["parts"] for m in deps.texter.sent if m["to"] == phone]  # type: ignore[attr-defined]

    assert "Your Orquesta code is" in text
    assert "If you did not ask for it, ignore it." in text and "ignóralo" in text


def _welcome_coupon(deps: Deps) -> str:
    terms = PromotionTerms(
        name="Bienvenida", kind="percent", value=Decimal("10"), code="HOLA", once_per_customer=True
    )
    return promotions.create_promotion(terms, deps).promotion.promotion_id


def test_a_welcome_coupon_used_through_an_attached_phone_is_its_owners_once_they_split_off(
    deps: Deps,
) -> None:
    # Probe 230: the phone's owner used the welcome coupon by phone alone, on the record
    # the phone was attached to; once they proved it, the record's own customer was refused
    # the coupon they never used, and the phone's owner could use it a second time.
    welcome = _welcome_coupon(deps)
    _, record, _, _ = _founded_with_an_unused_phone(deps)
    phone = _phone_of(deps, record)
    used = flows.projected(deps, flows.reserved(deps, coupon="HOLA", customer={"phone": phone}))
    assert used.customer_id == record

    split = _prove(deps, phone).resolution.customer_id

    assert deps.store.redeemed_by(split, [welcome]) == {welcome}
    assert deps.store.redeemed_by(record, [welcome]) == set()
    with pytest.raises(CouponUsedUp) as refused:
        flows.place(deps, coupon="HOLA", customer={"phone": phone})
    assert refused.value.field == "coupon"
    flows.place(deps, coupon="HOLA", customer={"customer_id": record})
    assert promotions.promotion(welcome, deps).redemptions == 2
    # Their order cancelled gives the use back to them, not to the record's customer.
    ordering.cancel_order(used.order_id, deps)
    assert deps.store.redeemed_by(split, [welcome]) == set()
    assert deps.store.redeemed_by(record, [welcome]) == {welcome}
    flows.place(deps, coupon="HOLA", customer={"phone": phone})


def test_a_declined_order_through_an_attached_phone_is_paid_again_under_its_owners_record(
    deps: Deps,
) -> None:
    welcome = _welcome_coupon(deps)
    _, record, _, _ = _founded_with_an_unused_phone(deps)
    phone = _phone_of(deps, record)
    declined = flows.projected(deps, flows.declined(deps, coupon="HOLA", customer={"phone": phone}))

    split = _prove(deps, phone).resolution.customer_id

    held = deps.store.get_order(declined.order_id).pricing
    assert held is not None and [t.customer_id for t in held.redemptions] == [split]
    assert deps.store.redeemed_by(split, [welcome]) == set()  # a declined order holds none
    assert promotions.redemptions_free_again(held, deps)
    flows.place(deps, coupon="HOLA", customer={"phone": phone})
    assert not promotions.redemptions_free_again(held, deps)  # the owner used it since


def test_an_email_merged_in_and_proven_again_takes_its_orders_and_its_welcome_coupon(
    deps: Deps,
) -> None:
    # Probe 251: ops merged B into A; B proved her email again (a merge vouches for nothing
    # it moves, so a record of her own split off). Her order stayed on A's record, out of
    # her sight, and its welcome coupon stayed A's: B used it a second time, A was refused
    # it without ever using it.
    welcome = _welcome_coupon(deps)
    a_email, b_email = _email("ana"), _email("berta")
    a = flows.place(deps, customer={"email": a_email}).customer_id
    hers = flows.projected(deps, flows.reserved(deps, coupon="HOLA", customer={"email": b_email}))
    b = hers.customer_id
    assert a is not None and b is not None and a != b
    customer_records.merge_customers(a, b, "ops", "ops", deps)

    proven = _prove(deps, b_email)
    split = proven.resolution.customer_id
    assert split not in (a, b)

    listed, _, export = _seen_by(deps, split, by_token=True)
    assert hers.order_id in listed and hers.order_id in export
    assert hers.order_id not in _seen_by(deps, a, by_token=False)[0]
    assert deps.store.redeemed_by(split, [welcome]) == {welcome}
    with pytest.raises(CouponUsedUp):
        flows.place(deps, coupon="HOLA", customer={"email": b_email})
    flows.place(deps, coupon="HOLA", customer={"email": a_email})
