"""Campaign figures on fakes, kept from the order events as the SNS subscriber keeps them:
a coupon's campaign counts the order whatever its channel (the store till included) and
wins over the attribution tag; revenue leaves with a cancelled order; redelivered events
count nothing twice."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.deps import Deps
from chalicelib.domain.campaigns import CampaignCounters
from chalicelib.domain.orders import Order
from chalicelib.domain.promotions import PromotionTerms
from chalicelib.services import (
    campaign_projection,
    customer_projection,
    ordering,
    promotions,
)
from tests.fakes import Clock, RecordingEvents
from tests.service import flows


def _project_everything(deps: Deps) -> None:
    """Deliver every event published so far to the 360 and the campaign projections."""
    assert isinstance(deps.events, RecordingEvents)
    for event in deps.events.published:
        customer_projection.project_order_event(event, deps)
        campaign_projection.project_campaign_event(event, deps)


def _campaign(deps: Deps, name: str) -> CampaignCounters:
    """One campaign's figures, as ``GET /analytics/campaigns`` lists them."""
    (counted,) = [c for c in campaign_projection.report(deps) if c.campaign == name]
    return counted


def _till_order(deps: Deps, phone: str, attribution: dict[str, str]) -> Order:
    """A reserved order at the Madrid till by a customer who gave only their phone."""
    return flows.reserved(
        deps,
        channel="store",
        store_id="ST-MADRID",
        customer={"phone": phone},
        attribution=attribution,
    )


def test_web_and_till_orders_count_for_their_campaigns_exactly(deps: Deps) -> None:
    terms = PromotionTerms(
        name="Flyer", code="FLYER", kind="amount", value=Decimal("2.00"), campaign="flyer"
    )
    promotions.create_promotion(terms, deps)
    ana = {"email": "ana.campaign@example.com", "name": "Ana"}
    bea = {"email": "bea.campaign@example.com", "name": "Bea"}
    carla = {"email": "carla.campaign@example.com", "name": "Carla"}
    newsletter = {"campaign": "newsletter", "source": "email", "medium": "newsletter"}

    web = flows.reserved(deps, customer=ana, attribution=newsletter)
    _project_everything(deps)  # Ana's first order is on her record before the next
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=5)
    till = flows.reserved(deps, channel="store", store_id="ST-MADRID", customer=ana, coupon="FLYER")
    both = flows.reserved(deps, customer=carla, attribution=newsletter, coupon="flyer")
    cancelled = flows.reserved(deps, customer=bea, attribution=newsletter)
    ordering.cancel_order(cancelled.order_id, deps)
    untagged = flows.reserved(deps)
    _project_everything(deps)
    _project_everything(deps)  # every event delivered twice

    figures = {c.campaign: c for c in campaign_projection.report(deps)}
    assert set(figures) == {"newsletter", "flyer"}
    assert untagged.order_id  # counted nowhere
    news = figures["newsletter"]
    # Bea's order was cancelled: no customer won (probe 215).
    assert (news.orders, news.new_customers, news.returning_customers) == (2, 1, 0)
    assert news.by_channel == {"web": 2}
    assert news.revenue == web.total.amount
    flyer = figures["flyer"]
    assert (flyer.orders, flyer.new_customers, flyer.returning_customers) == (2, 1, 1)
    assert flyer.by_channel == {"store": 1, "web": 1}
    assert flyer.revenue == till.total.amount + both.total.amount


def test_a_declined_order_paid_again_counts_once_with_its_revenue(deps: Deps) -> None:
    from chalicelib.services import payment_steps, self_service
    from chalicelib.services.step_models import OrderStep

    tag = {"campaign": "retry"}
    order = flows.declined(deps, attribution=tag)
    _project_everything(deps)
    [counted] = campaign_projection.report(deps)
    assert (counted.orders, counted.revenue) == (1, Decimal("0.00"))
    self_service.pay_again(order.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    _project_everything(deps)
    [counted] = campaign_projection.report(deps)
    assert (counted.orders, counted.revenue) == (1, order.total.amount)


def test_a_customer_ordering_twice_in_a_campaign_is_one_customer(deps: Deps) -> None:
    # A probe: new + returning always equalled the orders, one person counted twice.
    tag = {"campaign": "twice"}
    dana = {"email": "dana.campaign@example.com", "name": "Dana"}
    eva = {"email": "eva.campaign@example.com", "name": "Eva"}
    flows.reserved(deps, customer=eva)  # Eva bought before the campaign
    _project_everything(deps)
    assert isinstance(deps.clock, Clock)
    for _ in range(2):
        deps.clock.advance(minutes=5)
        flows.reserved(deps, customer=dana, attribution=tag)
        flows.reserved(deps, customer=eva, attribution=tag)
        _project_everything(deps)

    twice = _campaign(deps, "twice")
    assert (twice.orders, twice.new_customers, twice.returning_customers) == (4, 1, 1)


def test_a_customer_whose_earlier_orders_were_declined_or_cancelled_is_new(deps: Deps) -> None:
    # A probe: both were counted as returning while their 360 said they had bought nothing.
    tag = {"campaign": "firstbuy"}
    rita = {"email": "rita.campaign@example.com", "name": "Rita"}
    carl = {"email": "carl.campaign@example.com", "name": "Carl"}
    flows.declined(deps, customer=rita)
    ordering.cancel_order(flows.reserved(deps, customer=carl).order_id, deps)
    _project_everything(deps)
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=5)

    flows.reserved(deps, customer=rita, attribution=tag)
    flows.reserved(deps, customer=carl, attribution=tag)
    _project_everything(deps)

    first = _campaign(deps, "firstbuy")
    assert (first.orders, first.new_customers, first.returning_customers) == (2, 2, 0)


def test_revenue_leaves_out_what_was_voided_and_events_late_or_twice_change_nothing(
    deps: Deps,
) -> None:
    # A probe: a mixed order whose pick-up was not collected counted its whole total,
    # the voided pick-up included, while the customer's 360 left it out.
    from chalicelib.services import fulfillment_steps
    from chalicelib.services.step_models import FulfillmentStep

    tag = {"campaign": "mixed"}
    order = flows.shipped(deps, lines=flows.MIXED, attribution=tag)
    _project_everything(deps)
    (counted,) = campaign_projection.report(deps)
    assert counted.revenue == order.total.amount
    pickup = next(f for f in order.fulfillments if f.type.value == "pickup")
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)
    fulfillment_steps.handle_fulfillment_timeout(step, deps)  # not collected: voided

    _project_everything(deps)  # every event again, the old ones first
    _project_everything(deps)

    stored = deps.store.get_order(order.order_id)
    assert stored.payment.voided is not None and stored.payment.voided.amount > 0
    (counted,) = campaign_projection.report(deps)
    assert counted.revenue == order.total.amount - stored.payment.voided.amount
    assert counted.orders == 1


def test_two_records_merged_by_ops_are_one_customer_in_their_campaign(deps: Deps) -> None:
    # A probe: a web order by email and a store order by phone, one person, counted as
    # two new customers; ops merged the records and both still counted.
    from chalicelib.services import customer_records

    tag = {"campaign": "merge"}
    web = flows.reserved(deps, customer={"email": "mia.campaign@example.com"}, attribution=tag)
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=5)
    till = _till_order(deps, "+34600999888", tag)
    _project_everything(deps)
    counted = _campaign(deps, "merge")
    assert (counted.new_customers, counted.returning_customers) == (2, 0)
    assert web.customer_id and till.customer_id and web.customer_id != till.customer_id

    customer_records.merge_customers(web.customer_id, till.customer_id, "ops", "ops", deps)
    deps.clock.advance(minutes=5)
    flows.reserved(deps, customer={"email": "mia.campaign@example.com"}, attribution=tag)
    _project_everything(deps)

    counted = _campaign(deps, "merge")
    assert (counted.orders, counted.new_customers, counted.returning_customers) == (3, 1, 0)


def test_after_a_merge_a_person_who_had_bought_before_is_returning_in_the_campaign(
    deps: Deps,
) -> None:
    # A re-probe: the merged record's earlier order in the campaign was kept as "new",
    # though the survivor had bought before it.
    from chalicelib.services import customer_records

    tag = {"campaign": "recount"}
    email = {"email": "rob.campaign@example.com"}
    bought = flows.reserved(deps, customer=email)  # no campaign: a purchase before
    _project_everything(deps)
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=5)
    till = _till_order(deps, "+34600777666", tag)
    deps.clock.advance(minutes=5)
    flows.reserved(deps, customer=email, attribution=tag)
    _project_everything(deps)
    counted = _campaign(deps, "recount")
    assert (counted.new_customers, counted.returning_customers) == (1, 1)
    assert bought.customer_id and till.customer_id

    customer_records.merge_customers(bought.customer_id, till.customer_id, "ops", "ops", deps)

    counted = _campaign(deps, "recount")
    assert (counted.orders, counted.new_customers, counted.returning_customers) == (2, 0, 1)


def test_the_export_says_how_each_campaign_and_the_aggregates_count_the_person(
    deps: Deps,
) -> None:
    # A probe: the customer's record held how a campaign counted them, and their channel
    # mix, and the export (everything held about them) had neither.
    from chalicelib.services.customer_export import export_customer

    email = {"email": "eva.campaign@example.com"}
    first = flows.reserved(deps, customer=email, attribution={"campaign": "autumn"})
    _project_everything(deps)
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=5)
    flows.reserved(deps, customer=email, attribution={"campaign": "winter"})
    deps.clock.advance(minutes=5)
    till = _till_order(deps, "+34600777666", {"campaign": "winter"})
    _project_everything(deps)
    assert first.customer_id is not None

    exported = export_customer(first.customer_id, deps)

    assert exported["campaigns"] == [
        {
            "campaign": "autumn",
            "counted_as": "new",
            "order_placed_at": first.placed_at.isoformat(),
        },
        {
            "campaign": "winter",
            "counted_as": "returning",
            "order_placed_at": exported["orders"][1]["placed_at"],
        },
    ]
    assert exported["metrics"]["channel_mix"] == "online_only"
    assert exported["metrics"]["store_before_online"] is False
    # The till's customer is someone else: nothing of theirs here, theirs in their own.
    assert till.customer_id is not None and till.customer_id != first.customer_id
    theirs = export_customer(till.customer_id, deps)
    assert [c["counted_as"] for c in theirs["campaigns"]] == ["new"]
    assert theirs["metrics"]["channel_mix"] == "store_only"


def test_a_campaign_counted_on_the_record_an_order_was_split_from_is_in_its_owners_export(
    deps: Deps,
) -> None:
    # Re-probe 177: Bea's order, brought to Carol's record by Bea's email alone, was
    # counted there; once Bea proved her email, her export listed the order but not its
    # campaign, and Carol's export did not either.
    import re

    from chalicelib.domain.requests import CustomerRef
    from chalicelib.services import verification
    from chalicelib.services.customer_export import export_customer
    from chalicelib.services.customers import resolve_customer
    from tests.fakes import Outgoing

    phone, bea = "+34600111222", "bea.campaign@example.com"
    carol = resolve_customer(CustomerRef(phone=phone), deps).customer_id
    first = flows.reserved(deps, customer={"phone": phone, "email": bea, "name": "Carol"})
    _project_everything(deps)
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=5)
    beas = flows.reserved(deps, customer={"email": bea}, attribution={"campaign": "spring"})
    _project_everything(deps)
    assert beas.customer_id == carol
    verification.send_code(bea, None, deps, sender="test-client")
    assert isinstance(deps.mailer, Outgoing)
    code = re.search(r"Your Orquesta code is (\d{6})", deps.mailer.sent[-1]["parts"])
    assert code is not None
    split = verification.confirm_code(bea, None, code.group(1), deps).resolution.customer_id
    assert split != carol

    theirs = export_customer(split, deps)
    # Both told at Bea's address: hers (probe 195), the first one with no campaign.
    assert {o["order_id"] for o in theirs["orders"]} == {first.order_id, beas.order_id}
    assert theirs["campaigns"] == [
        {
            "campaign": "spring",
            "counted_as": "returning",  # as the campaign counted it: on Carol's record
            "order_placed_at": beas.placed_at.isoformat(),
        }
    ]
    assert export_customer(carol, deps)["campaigns"] == []


def test_a_shopper_whose_card_was_declined_is_no_customer_won_until_they_pay(
    deps: Deps,
) -> None:
    # Probe 190: a campaign whose only order was declined counted one new customer.
    from chalicelib.services import payment_steps, self_service
    from chalicelib.services.step_models import OrderStep

    order = flows.declined(deps, attribution={"campaign": "declined-cards"})
    _project_everything(deps)
    declined = _campaign(deps, "declined-cards")
    assert (declined.orders, declined.new_customers, declined.revenue) == (1, 0, 0)

    # Paid again from the tracking page: a customer won after all, counted once.
    self_service.pay_again(order.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    _project_everything(deps)
    _project_everything(deps)
    paid = _campaign(deps, "declined-cards")
    assert (paid.orders, paid.new_customers, paid.returning_customers) == (1, 1, 0)


def test_an_automatic_promotion_of_a_campaign_counts_the_orders_that_name_none(
    deps: Deps,
) -> None:
    # Probe 190: ops tagged a promotion without a code with a campaign, accepted; the
    # orders that got it counted nowhere.
    terms = PromotionTerms(
        name="Kiosco", kind="percent", value=Decimal("5"), channels=["kiosk"], campaign="kiosco"
    )
    promotions.create_promotion(terms, deps)
    kiosk = {"channel": "kiosk", "store_id": "ST-MADRID"}
    untagged = flows.reserved(deps, **kiosk)
    tagged = flows.reserved(deps, attribution={"campaign": "elsewhere"}, **kiosk)
    assert untagged.pricing and untagged.pricing.redemptions
    assert tagged.pricing and tagged.pricing.redemptions
    _project_everything(deps)

    assert _campaign(deps, "kiosco").orders == 1  # its own tag says more
    assert _campaign(deps, "elsewhere").orders == 1
