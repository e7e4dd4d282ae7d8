"""Erasure on the fakes, where no outbox keeps copies of emails (as on AWS): the person's
addresses are still collected to find a subscription they made with a bare email, and an
erasure interrupted among the subscriptions and opportunities is finished by asking
again, with the address gone from all of them and their figures kept."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.catalog import Product
from chalicelib.domain.errors import ActionNotAvailable
from chalicelib.domain.money import Money
from chalicelib.domain.opportunities import OpportunityStatus, SubscriptionStatus
from chalicelib.domain.requests import CustomerRef
from chalicelib.services import (
    customer_export,
    customer_records,
    opportunities,
    payment_steps,
    self_service,
)
from chalicelib.services.customers import resolve_customer
from chalicelib.services.step_models import OrderStep
from tests.fakes import Clock
from tests.service import flows


def _new_product(deps: Deps) -> str:
    sku = f"GONE-{uuid.uuid4().hex[:8].upper()}"
    deps.store.put_product(Product(sku=sku, name="Abrigo agotado", price=Money.of("40.00")))
    return sku


def test_an_interrupted_erasure_finishes_every_subscription_and_opportunity(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert deps.outbox is None
    address = "olvido@example.com"
    bare = opportunities.subscribe_back_in_stock(_new_product(deps), address, deps)
    order = flows.place(deps, customer={"email": address, "name": "Ana Olvido"})
    assert order.customer_id is not None and bare.customer_id is None
    known = opportunities.subscribe_back_in_stock(_new_product(deps), address, deps)
    assert known.customer_id == order.customer_id
    figures = {
        o.opportunity_id: (o.kind, o.value, o.created_at)
        for o in deps.opportunities.opportunities()
    }
    real = deps.opportunities.save_opportunity
    failures: list[str] = []

    def fails_once(opportunity: object, expected: OpportunityStatus) -> bool:
        if not failures:
            failures.append("once")
            raise RuntimeError("the table went away for a moment")
        return real(opportunity, expected)  # type: ignore[arg-type]

    monkeypatch.setattr(deps.opportunities, "save_opportunity", fails_once)
    with pytest.raises(RuntimeError):
        customer_records.erase_customer(order.customer_id, "ops", "ops", deps)

    record = customer_records.erase_customer(order.customer_id, "ops", "ops", deps)

    assert record["status"] == "completed"
    for subscription in (bare, known):
        kept = deps.opportunities.subscription(subscription.subscription_id)
        assert kept is not None
        assert (kept.email, kept.status) == ("[erased]", SubscriptionStatus.ERASED)
        assert deps.opportunities.open_subscriptions(subscription.sku) == []
    after = deps.opportunities.opportunities()
    assert [o.email for o in after] == [None, None]
    assert {o.opportunity_id: (o.kind, o.value, o.created_at) for o in after} == figures
    # Nobody can be told or recognised any more: the wishes are lost, not left open.
    assert {o.status for o in after} == {OpportunityStatus.LOST}
    assert {row["status"] for row in opportunities.listing(deps)[0]} == {"lost"}
    assert address not in repr(deps.customers.erasure(order.customer_id))


def test_erasing_again_leaves_the_closed_opportunities_as_they_were(deps: Deps) -> None:
    address = "otra-vez@example.com"
    order = flows.place(deps, customer={"email": address, "name": "Ana Otra"})
    assert order.customer_id is not None
    opportunities.subscribe_back_in_stock(_new_product(deps), address, deps)
    customer_records.erase_customer(order.customer_id, "ops", "ops", deps)
    first = [o.model_dump() for o in deps.opportunities.opportunities()]
    assert [o["status"] for o in first] == [OpportunityStatus.LOST]

    assert isinstance(deps.clock, Clock)
    deps.clock.advance(hours=1)
    customer_records.erase_customer(order.customer_id, "ops", "ops", deps)

    assert [o.model_dump() for o in deps.opportunities.opportunities()] == first


def test_erasure_loses_a_notified_wish_and_an_open_payment_retry_at_once(deps: Deps) -> None:
    # Probe 215: paying the declined order again was refused ("its customer's data was
    # erased"), yet its payment retry stayed open until the 30-day review lost it.
    address = "avisada@example.com"
    customer = {"email": address, "name": "Ana Avisada"}
    order = flows.place(deps, customer=customer)
    assert order.customer_id is not None
    sku = _new_product(deps)
    opportunities.subscribe_back_in_stock(sku, address, deps)
    opportunities.on_availability(sku, 0, 5, deps)
    declined, paid_again = (
        flows.declined(deps, customer=customer),
        flows.declined(deps, customer=customer),
    )
    for each in (declined, paid_again):
        opportunities.follow_order_event(_declined_event(each.order_id), deps)
    self_service.pay_again(paid_again.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=paid_again.order_id), deps)
    opportunities.follow_order_event(_status(paid_again.order_id, "PAID"), deps)

    customer_records.erase_customer(order.customer_id, "ops", "ops", deps)

    statuses = {(o.kind.value, o.order_id): o.status for o in deps.opportunities.opportunities()}
    assert statuses == {
        ("back_in_stock", None): OpportunityStatus.LOST,
        ("payment_retry", declined.order_id): OpportunityStatus.LOST,
        # Paid: a sale, which only its order's end without a sale undoes.
        ("payment_retry", paid_again.order_id): OpportunityStatus.CONVERTED,
    }
    assert deps.opportunities.notified_back_in_stock(sku) == []
    with pytest.raises(ActionNotAvailable):
        self_service.pay_again(declined.order_id, "tok_visa", deps)
    # Erased again (an hour on): nothing moves, nothing is rewritten.
    first = [o.model_dump() for o in deps.opportunities.opportunities()]
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(hours=1)
    customer_records.erase_customer(order.customer_id, "ops", "ops", deps)
    assert [o.model_dump() for o in deps.opportunities.opportunities()] == first


def test_erasure_leaves_open_the_payment_retry_of_an_order_a_split_record_owns(
    deps: Deps,
) -> None:
    # Founded with someone else's phone: their order by phone alone, declined, lands on
    # this record until they prove the phone. Erasing the founder must not take their
    # retry: they can still pay it again.
    from tests.service.test_proving_identifiers import _email, _phone, _prove

    founder_email, phone = _email("fundador"), _phone()
    founded = resolve_customer(CustomerRef(email=founder_email, phone=phone), deps)
    own = flows.declined(deps, customer={"email": founder_email})
    theirs = flows.declined(deps, customer={"phone": phone, "name": "Vera Victima"})
    assert own.customer_id == theirs.customer_id == founded.customer_id
    for each in (own, theirs):
        flows.projected(deps, each)
        opportunities.follow_order_event(_declined_event(each.order_id), deps)
    split = _prove(deps, phone).resolution.customer_id
    assert split != founded.customer_id

    erased = customer_records.erase_customer(founded.customer_id, "ops", "ops", deps)

    assert erased["split_records"] == [split]
    statuses = {o.order_id: o.status for o in deps.opportunities.opportunities()}
    assert statuses == {
        own.order_id: OpportunityStatus.LOST,
        theirs.order_id: OpportunityStatus.OPEN,
    }
    self_service.pay_again(theirs.order_id, "tok_visa", deps)  # theirs to pay


def _status(order_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "type": "order.status_changed",
        "event_id": f"{order_id}:x:{status}",
        "order_id": order_id,
        "status": status,
        "status_reason": reason,
    }


def _declined_event(order_id: str) -> dict[str, Any]:
    return _status(order_id, "REJECTED", "payment_declined")


def test_an_erasure_and_an_export_read_the_persons_opportunities_only(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: each erasure and each export read every opportunity ever stored, which
    # only grows (and past what one Lambda can hold, an erasure that never finishes).
    address = "solo-mias@example.com"
    bare = opportunities.subscribe_back_in_stock(_new_product(deps), address, deps)
    order = flows.place(deps, customer={"email": address, "name": "Ana Sola"})
    assert order.customer_id is not None
    known = opportunities.subscribe_back_in_stock(_new_product(deps), address, deps)
    flows.place(deps, customer={"email": "otra@example.com", "name": "Eva Otra"})
    theirs = [
        opportunities.subscribe_back_in_stock(_new_product(deps), "otra@example.com", deps),
        opportunities.subscribe_back_in_stock(_new_product(deps), "nadie@example.com", deps),
    ]

    def every_one() -> None:
        pytest.fail("every opportunity was read")

    monkeypatch.setattr(deps.opportunities, "opportunities", every_one)
    exported = customer_export.export_customer(order.customer_id, deps)
    listed = {o["opportunity_id"] for o in exported["opportunities"]}
    assert listed == {f"opp_{s.subscription_id}" for s in (bare, known)}

    record = customer_records.erase_customer(order.customer_id, "ops", "ops", deps)

    assert record["status"] == "completed"
    monkeypatch.undo()
    emails = {o.subscription_id: o.email for o in deps.opportunities.opportunities()}
    assert emails[bare.subscription_id] is None and emails[known.subscription_id] is None
    assert [emails[s.subscription_id] for s in theirs] == ["otra@example.com", "nadie@example.com"]
