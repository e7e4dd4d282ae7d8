"""A campaign's customers are those who bought through it (probe 215): a customer counted
by an order that then ends cancelled or rejected is counted no more, unless another of
their orders in the campaign is still a purchase, which then counts them (new or
returning as of that order). Events come late, twice or out of order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.campaigns import CampaignCounters
from chalicelib.domain.orders import Order
from chalicelib.services import campaign_projection, customer_projection, ordering
from tests.fakes import Clock, RecordingEvents
from tests.service import flows

PICKUP = [
    {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"}
]


def _project(deps: Deps, reverse: bool = False) -> None:
    """Deliver every event published so far to the 360, then the campaign projection (as
    the subscriber runs them); ``reverse``: newest first."""
    assert isinstance(deps.events, RecordingEvents)
    events = list(deps.events.published)
    for event in reversed(events) if reverse else events:
        customer_projection.project_order_event(event, deps)
        campaign_projection.project_campaign_event(event, deps)


def _figures(deps: Deps, name: str) -> tuple[int, Decimal, int, int]:
    """``orders``, ``revenue``, ``new_customers``, ``returning_customers``."""
    (c,) = [c for c in campaign_projection.report(deps) if c.campaign == name]
    assert isinstance(c, CampaignCounters)
    return c.orders, c.revenue, c.new_customers, c.returning_customers


def _later(deps: Deps) -> None:
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=5)


def _paid_then_ended(deps: Deps, ending: str, **overrides: Any) -> Order:
    """A pick-up order paid (authorised), then ended as ``ending`` says."""
    from chalicelib.services import fulfillment_steps, payment_steps
    from chalicelib.services.step_models import FulfillmentStep, OrderStep, RejectOrderInput

    if ending == "rejected":  # out of stock after its authorisation
        order = flows.place(deps, lines=PICKUP, **overrides)
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
        _project(deps)  # counted once paid
        payment_steps.reject_order(
            RejectOrderInput(order_id=order.order_id, error="OutOfStock"), deps
        )
    elif ending == "cancelled":
        order = flows.reserved(deps, lines=PICKUP, **overrides)
        _project(deps)
        ordering.cancel_order(order.order_id, deps)
    else:  # not collected
        order = flows.shipped(deps, lines=PICKUP, **overrides)
        _project(deps)
        (pickup,) = order.fulfillments
        step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)
        fulfillment_steps.handle_fulfillment_timeout(step, deps)
    ended = deps.store.get_order(order.order_id)
    assert ended.status.value in {"CANCELLED", "REJECTED"}
    return ended


@pytest.mark.parametrize("ending", ["cancelled", "rejected", "not_collected"])
def test_a_customer_whose_only_order_in_the_campaign_ended_is_no_customer_won(
    deps: Deps, ending: str
) -> None:
    # Probe 215: {"orders":1,"revenue":"0.00","new_customers":1} while the customer's
    # 360 said order_count 0, prospect.
    tag = {"campaign": f"ended-{ending}"}
    _paid_then_ended(deps, ending, attribution=tag)
    _project(deps)
    _project(deps)  # every event again: nothing moves twice

    assert _figures(deps, tag["campaign"]) == (1, Decimal("0.00"), 0, 0)


def test_an_end_delivered_before_the_payment_counts_no_customer(deps: Deps) -> None:
    tag = {"campaign": "ended-first"}
    order = flows.reserved(deps, lines=PICKUP, attribution=tag)
    ordering.cancel_order(order.order_id, deps)
    _project(deps, reverse=True)  # CANCELLED first, PAID after it
    _project(deps)

    assert _figures(deps, "ended-first") == (1, Decimal("0.00"), 0, 0)


def test_the_customer_s_other_order_in_the_campaign_counts_them_when_the_first_ends(
    deps: Deps,
) -> None:
    tag = {"campaign": "handed-on"}
    email = {"email": "lola.campaign@example.com", "name": "Lola"}
    first = flows.reserved(deps, customer=email, attribution=tag)
    _project(deps)
    _later(deps)
    flows.reserved(deps, customer=email)  # a purchase outside the campaign
    _later(deps)
    second = flows.reserved(deps, customer=email, attribution=tag)
    _project(deps)
    assert _figures(deps, "handed-on")[2:] == (1, 0)  # new, at the first order

    ordering.cancel_order(first.order_id, deps)
    _project(deps)
    _project(deps)  # redelivered: the count is handed on once

    # Still one customer, now returning: they had bought before the second order.
    assert _figures(deps, "handed-on") == (2, second.total.amount, 0, 1)

    ordering.cancel_order(second.order_id, deps)
    _project(deps, reverse=True)
    assert _figures(deps, "handed-on") == (2, Decimal("0.00"), 0, 0)


def test_a_listed_order_that_ends_is_not_handed_the_count_later(deps: Deps) -> None:
    tag = {"campaign": "listed"}
    email = {"email": "nora.campaign@example.com", "name": "Nora"}
    first = flows.reserved(deps, customer=email, attribution=tag)
    _later(deps)
    second = flows.reserved(deps, customer=email, attribution=tag)
    _project(deps)
    ordering.cancel_order(second.order_id, deps)  # the order that did not count her
    _project(deps)
    assert _figures(deps, "listed")[2:] == (1, 0)

    ordering.cancel_order(first.order_id, deps)
    _project(deps)
    _project(deps, reverse=True)

    assert _figures(deps, "listed") == (2, Decimal("0.00"), 0, 0)


def test_after_a_merge_the_other_record_s_order_counts_the_person_when_the_kept_one_ends(
    deps: Deps,
) -> None:
    from chalicelib.services import customer_records

    tag = {"campaign": "merged-ended"}
    web = flows.reserved(deps, customer={"email": "pia.campaign@example.com"}, attribution=tag)
    _later(deps)
    till = flows.reserved(
        deps,
        channel="store",
        store_id="ST-MADRID",
        customer={"phone": "+34600555444"},
        attribution=tag,
    )
    _project(deps)
    assert _figures(deps, "merged-ended")[2:] == (2, 0)
    assert web.customer_id and till.customer_id
    customer_records.merge_customers(web.customer_id, till.customer_id, "ops", "ops", deps)
    assert _figures(deps, "merged-ended")[2:] == (1, 0)  # the web order's count kept

    ordering.cancel_order(web.order_id, deps)
    _project(deps)
    _project(deps)

    # The till order is a purchase: it counts the person, new (nothing bought before it).
    assert _figures(deps, "merged-ended") == (2, till.total.amount, 1, 0)
    ordering.cancel_order(till.order_id, deps)
    _project(deps)
    assert _figures(deps, "merged-ended") == (2, Decimal("0.00"), 0, 0)


def test_an_order_ending_while_its_payment_is_counted_counts_no_customer(deps: Deps) -> None:
    # The race: the PAID delivery read the order paid, the CANCELLED delivery ran whole
    # (nothing counted yet to take off), then the PAID delivery wrote its count.
    from chalicelib.services.event_reads import EventReads

    tag = {"campaign": "raced"}
    paid = flows.reserved(deps, lines=PICKUP, attribution=tag)
    assert isinstance(deps.events, RecordingEvents)
    published = len(deps.events.published)
    ordering.cancel_order(paid.order_id, deps)
    for event in deps.events.published[published:]:  # the end, delivered first
        customer_projection.project_order_event(event, deps)
        campaign_projection.project_campaign_event(event, deps)
    for event in deps.events.published[:published]:
        stale = EventReads(deps)
        stale.saw(paid)  # as read when its delivery began
        customer_projection.project_order_event(event, deps)
        campaign_projection.project_campaign_event(event, deps, stale)

    assert _figures(deps, "raced") == (1, Decimal("0.00"), 0, 0)


@pytest.mark.parametrize("reverse", [False, True])
def test_a_customer_whose_earlier_purchase_ended_unsold_is_new_again(
    deps: Deps, reverse: bool
) -> None:
    # Probe 222: counted returning on the strength of an order outside the campaign, the
    # customer stayed returning once that order was cancelled.
    email = {"email": "nora.campaign@example.com", "name": "Nora"}
    earlier = flows.reserved(deps, lines=PICKUP, customer=email)
    _project(deps)
    _later(deps)
    flows.reserved(deps, lines=PICKUP, customer=email, attribution={"campaign": "after-all"})
    _project(deps)
    assert _figures(deps, "after-all")[2:] == (0, 1)

    ordering.cancel_order(earlier.order_id, deps)
    _project(deps, reverse=reverse)
    _project(deps)

    assert _figures(deps, "after-all")[2:] == (1, 0)


def test_an_earlier_order_paid_again_makes_the_campaign_s_customer_returning(
    deps: Deps,
) -> None:
    # Probe 223: declined, then the campaign's order, then the first paid again: the
    # campaign's customer stayed new until some unrelated order of theirs ended.
    from chalicelib.services import payment_steps, self_service
    from chalicelib.services.step_models import OrderStep

    email = {"email": "olga.campaign@example.com", "name": "Olga"}
    declined = flows.declined(deps, lines=PICKUP, customer=email)
    _later(deps)
    flows.reserved(deps, lines=PICKUP, customer=email, attribution={"campaign": "paid-late"})
    _project(deps)
    assert _figures(deps, "paid-late")[2:] == (1, 0)

    self_service.pay_again(declined.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=declined.order_id), deps)
    _project(deps)

    assert _figures(deps, "paid-late")[2:] == (0, 1)


def test_an_earlier_order_in_the_campaign_paid_again_counts_its_customer_new(
    deps: Deps,
) -> None:
    # Probe 226: declined in the campaign, then a second order in it paid, then the first
    # paid again: counted returning from the second, though the first was their first
    # order in the campaign and they had bought nothing before it.
    from chalicelib.services import payment_steps, self_service
    from chalicelib.services.step_models import OrderStep

    email = {"email": "pia.campaign@example.com", "name": "Pia"}
    tag = {"campaign": "both-in-it"}
    declined = flows.declined(deps, lines=PICKUP, customer=email, attribution=tag)
    _later(deps)
    second = flows.reserved(deps, lines=PICKUP, customer=email, attribution=tag)
    _project(deps)
    assert _figures(deps, "both-in-it")[2:] == (1, 0)

    self_service.pay_again(declined.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=declined.order_id), deps)
    _project(deps)
    _project(deps)  # delivered again: nothing more

    assert _figures(deps, "both-in-it")[2:] == (1, 0)
    (customer_id,) = {declined.customer_id, second.customer_id}
    assert customer_id is not None
    count = deps.store.campaign_count(customer_id, "both-in-it")
    assert count is not None
    assert (count.order_id, [o.order_id for o in count.others]) == (
        declined.order_id,
        [second.order_id],
    )

    # The first ends after all: the second counts them, new as of itself.
    ordering.cancel_order(declined.order_id, deps)
    _project(deps)

    assert _figures(deps, "both-in-it")[2:] == (1, 0)
    count = deps.store.campaign_count(customer_id, "both-in-it")
    assert count is not None and count.order_id == second.order_id


def test_a_till_sale_in_a_campaign_counts_its_claimant_once_claimed(deps: Deps) -> None:
    # Probe 230: an anonymous till sale in a campaign, claimed later, counted its order
    # and revenue but never its customer (counted on payment, when it had none).
    from chalicelib.domain.requests import CustomerRef
    from chalicelib.services import customer_records

    email = {"email": "rita.campaign@example.com", "name": "Rita"}
    earlier = flows.reserved(deps, lines=PICKUP, customer=email)
    _later(deps)
    sale = flows.reserved(
        deps,
        channel="store",
        store_id="ST-MADRID",
        customer=None,
        lines=PICKUP,
        attribution={"campaign": "till-flyer"},
    )
    _project(deps)
    assert _figures(deps, "till-flyer")[2:] == (0, 0)
    assert sale.receipt_code is not None

    assert isinstance(deps.events, RecordingEvents)
    delivered = len(deps.events.published)
    customer_records.claim_order(sale.order_id, sale.receipt_code, CustomerRef(**email), deps)
    # Only what came since: the sale's PAID event was delivered once, before the claim.
    for _ in range(2):  # delivered again: counted once
        for event in deps.events.published[delivered:]:
            customer_projection.project_order_event(event, deps)
            campaign_projection.project_campaign_event(event, deps)

    assert _figures(deps, "till-flyer")[2:] == (0, 1)  # she had bought before
    ordering.cancel_order(earlier.order_id, deps)
    _project(deps)
    assert _figures(deps, "till-flyer")[2:] == (1, 0)
