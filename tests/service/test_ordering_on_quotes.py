"""An order on a quote is charged exactly the quote's total and held to its promises. A
quote that is not the caller's, expired or for another basket is refused naming
``quote_id``, and nothing is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.catalog import LocationType
from chalicelib.domain.customer_actions import CustomerAction, PayWithdrawn
from chalicelib.domain.errors import (
    ActionNotAvailable,
    Conflict,
    InvalidCoupon,
    NotFound,
    OrquestaError,
    QuotePriceTaken,
)
from chalicelib.domain.promotions import PromotionTerms
from chalicelib.domain.quote_requests import QuoteRequest
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.presentation.tracking_page import TEXT
from chalicelib.presentation.wording import Language
from chalicelib.services import ordering, promotions, quoting, self_service, settlement
from tests.fakes import Clock
from tests.service import flows
from tests.support.builders import stock as stock_level
from tests.support.catalogue import fresh_sku
from tests.support.pricing_bodies import CANARIES


def _quote(deps: Deps, client_id: str = "demo-shop", **overrides: Any) -> Any:
    body = {k: v for k, v in flows.body(**overrides).items() if k not in ("payment", "consent")}
    return quoting.create_quote(QuoteRequest.model_validate(body), client_id, deps)


def _refused(deps: Deps, error: type[OrquestaError], **overrides: Any) -> OrquestaError:
    request = PlaceOrderRequest.model_validate(flows.body(**overrides))
    with pytest.raises(error) as refused:
        ordering.place_order(request, "ord_refused", deps, "demo-shop")
    with pytest.raises(NotFound):
        deps.store.get_order("ord_refused")
    return refused.value


def test_an_order_on_its_quote_is_charged_the_quotes_total(deps: Deps) -> None:
    quote = _quote(deps, shipping_address=CANARIES)
    order = flows.place(deps, shipping_address=CANARIES, quote_id=quote.quote_id)
    assert order.total.amount == quote.breakdown.total
    assert order.pricing is not None and order.pricing.quote_id == quote.quote_id
    assert order.pricing.tax.name.value == "IGIC"


def test_a_shipment_on_a_quote_is_held_to_the_quotes_promise(deps: Deps) -> None:
    quote = _quote(deps)
    [part] = quote.fulfillments
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=20)  # placed later, still within the quote
    order = flows.shipped(deps, quote_id=quote.quote_id)
    [fulfillment] = order.fulfillments
    assert fulfillment.shipment is not None
    assert fulfillment.shipment.promised_by == part.promised_by


def test_a_parcel_leaving_from_a_place_the_quote_did_not_plan_is_held_to_the_quotes_promise(
    deps: Deps,
) -> None:
    # Quoted from Barcelona (7 Dec is a Madrid holiday, not a Catalan one, so Barcelona
    # promised a day earlier); the stock moved to Getafe before the order.
    assert isinstance(deps.clock, Clock)
    deps.clock.now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # a Saturday
    sku = fresh_sku(deps, {"ST-BARCELONA": 2})
    lines = [{"sku": sku, "quantity": 2, "fulfillment": "ship"}]
    quote = _quote(deps, lines=lines)
    [part] = quote.fulfillments
    assert part.location_id == "ST-BARCELONA"
    deps.store.put_stock(stock_level(sku, "ST-BARCELONA", 0))
    deps.store.put_stock(
        stock_level(sku, "WH-GETAFE", 5, location_type=LocationType.WAREHOUSE, pickup=False)
    )
    order = flows.shipped(deps, lines=lines, quote_id=quote.quote_id)
    [fulfillment] = order.fulfillments
    assert fulfillment.location_id == "WH-GETAFE"
    assert fulfillment.shipment is not None
    assert fulfillment.shipment.promised_by == part.promised_by


def test_another_clients_quote_is_unknown(deps: Deps) -> None:
    quote = _quote(deps, client_id="another-shop")
    refused = _refused(deps, NotFound, quote_id=quote.quote_id)
    assert refused.field_errors()[0][0] == "quote_id"
    _refused(deps, NotFound, quote_id="qt_never")


def test_an_expired_quote_is_409_naming_quote_id(deps: Deps) -> None:
    quote = _quote(deps)
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(seconds=deps.settings.quote_ttl_seconds)
    refused = _refused(deps, Conflict, quote_id=quote.quote_id)
    assert refused.field == "quote_id"
    # The moment as the quote's ``expires_at`` is written (a probe read a space for "T").
    assert refused.detail == f"quote {quote.quote_id} expired at {quote.expires_at.isoformat()}"


@pytest.mark.parametrize(
    "change",
    [
        {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 3, "fulfillment": "ship"}]},
        {"shipping_address": CANARIES},
    ],
)
def test_a_quote_for_another_basket_or_address_is_409(deps: Deps, change: dict[str, Any]) -> None:
    quote = _quote(deps)
    assert _refused(deps, Conflict, quote_id=quote.quote_id, **change).field == "quote_id"


_ONE_AND_ONE = [
    {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship"},
    {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship"},
]
_TWO = [{"sku": "TSHIRT-BLK-M", "quantity": 2, "fulfillment": "ship"}]


@pytest.mark.parametrize(("quoted", "ordered"), [(_ONE_AND_ONE, _TWO), (_TWO, _ONE_AND_ONE)])
def test_the_same_units_split_into_other_lines_are_the_quotes_basket(
    deps: Deps, quoted: list[dict[str, Any]], ordered: list[dict[str, Any]]
) -> None:
    # The quote answers two lines of one SKU as one line: an order written from that
    # answer asks for the same basket (a probe got 409 for it).
    quote = _quote(deps, lines=quoted)
    order = flows.place(deps, lines=ordered, quote_id=quote.quote_id)
    assert order.total.amount == quote.breakdown.total


def test_the_same_units_by_another_fulfillment_are_another_basket(deps: Deps) -> None:
    quote = _quote(deps, lines=_TWO)
    picked_up = [{**_ONE_AND_ONE[0], "fulfillment": "pickup", "location_id": "ST-MADRID"}]
    shipped_and_picked_up = [_ONE_AND_ONE[0], *picked_up]
    refused = _refused(deps, Conflict, lines=shipped_and_picked_up, quote_id=quote.quote_id)
    assert refused.field == "quote_id"


def test_an_unknown_coupon_is_422_naming_coupon_and_stores_nothing(deps: Deps) -> None:
    assert _refused(deps, InvalidCoupon, coupon="NOPE").field == "coupon"


def test_a_canaries_order_delivered_keeps_its_igic_and_fee_in_the_books(deps: Deps) -> None:
    quote = _quote(deps, shipping_address=CANARIES)
    order = flows.delivered(deps, shipping_address=CANARIES, quote_id=quote.quote_id)
    settlement.settle(order.order_id, deps)
    settled = deps.store.get_order(order.order_id)
    assert order.pricing is not None
    # 2 x 19.95 without IVA (16.49) = 32.98, the 9.95 fee, IGIC 7 % on both (3.01).
    assert order.pricing.subtotal == Decimal("32.98")
    assert settled.total.amount == Decimal("45.94")
    assert settled.payment.captured is not None
    assert settled.payment.captured.amount == Decimal("45.94")


def test_quote_ttl_is_a_setting(deps: Deps) -> None:
    deps.settings.quote_ttl_seconds = 60
    quote = _quote(deps)
    assert quote.expires_at - quote.created_at == timedelta(seconds=60)


def test_without_a_quote_an_order_is_charged_what_a_quote_would_have_said(deps: Deps) -> None:
    quote = _quote(deps, shipping_address=CANARIES)
    order = flows.place(deps, shipping_address=CANARIES)
    assert order.pricing is not None and order.pricing.quote_id is None
    assert order.total.amount == quote.breakdown.total
    assert order.pricing.tax == quote.breakdown.tax
    assert [line.unit_price.amount for line in order.lines] == [
        line.unit_price for line in quote.breakdown.lines
    ]


def test_a_quote_run_again_under_its_key_is_the_quote_first_kept(deps: Deps) -> None:
    # A keyed request run again after its first run died (Powertools' in-progress time
    # passed): it answers the quote the first kept, at the first run's moment and price.
    body = {k: v for k, v in flows.body().items() if k not in ("payment", "consent")}
    request = QuoteRequest.model_validate(body)
    first = quoting.create_quote(request, "demo-shop", deps, once="quotes-demo-shop\nk1")
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=5)

    again = quoting.create_quote(request, "demo-shop", deps, once="quotes-demo-shop\nk1")
    other = quoting.create_quote(request, "demo-shop", deps, once="quotes-demo-shop\nk2")

    assert again == first == deps.store.get_quote(first.quote_id)
    assert other.quote_id != first.quote_id and other.created_at > first.created_at


_COAT = [{"sku": "COAT-WOOL", "quantity": 1, "fulfillment": "ship"}]
_MADRID = {
    "name": "Ana",
    "line1": "Calle Mayor 1",
    "city": "Madrid",
    "postal_code": "28001",
    "country": "ES",
}


def _on_quote(deps: Deps, order_id: str, **overrides: Any) -> Any:
    request = PlaceOrderRequest.model_validate(
        flows.body(lines=_COAT, shipping_address=_MADRID, **overrides)
    )
    return ordering.place_order(request, order_id, deps, "demo-shop")


@pytest.mark.parametrize("code", ["MX90", None])
def test_a_quotes_promotion_prices_one_live_order_after_ops_end_it(
    deps: Deps, code: str | None
) -> None:
    # Probe 250: three orders on one quote (new keys, other customers) all got 90 % off
    # after ops ended the promotion, its redemptions going up with each.
    terms = PromotionTerms(name="Noventa", code=code, kind="percent", value=Decimal("90"))
    created = promotions.create_promotion(terms, deps)
    promotion_id = created.promotion.promotion_id
    quote = _quote(deps, lines=_COAT, shipping_address=_MADRID, coupon=code)
    assert quote.breakdown.total == Decimal("19.85")
    first = _on_quote(deps, "ord_first", quote_id=quote.quote_id, coupon=code)
    assert first.total.amount == Decimal("19.85")
    promotions.end_promotion(promotion_id, deps)

    def refused_on_the_quote(**extra: Any) -> Any:
        on_it = {"lines": _COAT, "shipping_address": _MADRID, "quote_id": quote.quote_id}
        return _refused(deps, QuotePriceTaken, **on_it, coupon=code, **extra)

    for customer in (None, {"email": "someone-else@example.com"}):
        refused = refused_on_the_quote(**({"customer": customer} if customer else {}))
        assert refused.field == "quote_id"
        assert refused.detail == (
            f"quote {quote.quote_id}'s price was already given to another order; "
            "ask for a new quote"
        )
    assert promotions.promotion(promotion_id, deps).redemptions == 1
    # The first order's key sent again answers the first order.
    again = _on_quote(deps, "ord_first", quote_id=quote.quote_id, coupon=code)
    assert again.order_id == "ord_first" and again.total.amount == Decimal("19.85")

    ordering.cancel_order("ord_first", deps)  # gives the quote's price back
    assert promotions.promotion(promotion_id, deps).redemptions == 0
    retried = _on_quote(deps, "ord_retried", quote_id=quote.quote_id, coupon=code)
    assert retried.total.amount == Decimal("19.85")
    assert promotions.promotion(promotion_id, deps).redemptions == 1
    refused_on_the_quote()


def test_an_order_on_a_coupons_quote_need_not_send_the_coupon_again(deps: Deps) -> None:
    # Probe 26B: API.md asks an order on a quote for "the same lines"; one that did not
    # send the quote's coupon again was 409 naming quote_id.
    terms = PromotionTerms(name="Diez", code="QDIEZ", kind="percent", value=Decimal("10"))
    promotion_id = promotions.create_promotion(terms, deps).promotion.promotion_id
    quote = _quote(deps, lines=_COAT, shipping_address=_MADRID, coupon="qdiez")
    assert quote.breakdown.discount > 0

    other = PromotionTerms(name="Otro", code="QOTRO", kind="percent", value=Decimal("20"))
    promotions.create_promotion(other, deps)
    on_it = {"lines": _COAT, "shipping_address": _MADRID, "quote_id": quote.quote_id}
    assert _refused(deps, Conflict, **on_it, coupon="QOTRO").field == "quote_id"
    order = _on_quote(deps, "ord_without_coupon", quote_id=quote.quote_id)

    assert order.total.amount == quote.breakdown.total
    assert order.pricing is not None and order.pricing.coupon == "QDIEZ"
    assert promotions.promotion(promotion_id, deps).redemptions == 1


def test_a_declined_order_frees_its_quote_and_cannot_be_paid_again_once_another_took_it(
    deps: Deps,
) -> None:
    promotions.create_promotion(
        PromotionTerms(name="Cinco", kind="amount", value=Decimal("5.00")), deps
    )
    quote = _quote(deps, lines=_COAT, shipping_address=_MADRID)
    declined = flows.declined(deps, lines=_COAT, shipping_address=_MADRID, quote_id=quote.quote_id)
    assert declined.status.value == "REJECTED"
    assert CustomerAction.PAY in self_service.actions_now(declined, deps).actions

    retried = _on_quote(deps, "ord_new_card", quote_id=quote.quote_id)
    assert retried.total.amount == quote.breakdown.total

    now = self_service.actions_now(declined, deps)
    assert CustomerAction.PAY not in now.actions
    assert now.pay_withdrawn is PayWithdrawn.PRICE_GONE
    # The page says the price went to another order, not that the coupon ran out (probe
    # 255: an uncapped promotion read "used up").
    for language, other_order in ((Language.ES, "otro pedido"), (Language.EN, "another order")):
        assert other_order in TEXT[language][f"pay_{now.pay_withdrawn.value}"]
    with pytest.raises(ActionNotAvailable, match="ask for a new quote") as refused:
        self_service.pay_again(declined.order_id, "tok_visa", deps)
    assert refused.value.field == "payment"
    assert deps.store.get_order(declined.order_id).status.value == "REJECTED"
