"""Every order is priced by the one engine at placement, without a quote too: the
destination's tax and shipping zone (pick-up lines at their store's), the fee and its
free-shipping threshold; the breakdown people read (the confirmation email, the tracking
page), and an order on a quote charged what the quote priced. How the money then follows
the breakdown is in ``test_pricing_money.py``. On fakes."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib.deps import Deps
from chalicelib.domain import settlement as rules
from chalicelib.domain.errors import InvalidCoupon, NotFound
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.orders import Order
from chalicelib.domain.quote_requests import QuoteRequest
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services import notify, ordering, quoting
from tests.fakes import Outgoing, RecordingEvents
from tests.service import flows
from tests.support.pages import tracking_html
from tests.support.pricing_bodies import D, _address, _canaries, _pickup, _ship, _sku


def _breakdown(order: Order) -> tuple[Decimal, ...]:
    pricing = order.pricing
    assert pricing is not None
    return (
        pricing.subtotal,
        pricing.discount,
        pricing.shipping,
        pricing.tax.amount,
        order.total.amount,
    )


# -- priced at placement --------------------------------------------------------------------


def test_mainland_below_the_threshold_pays_the_fee_with_iva_included(deps: Deps) -> None:
    sku = _sku(deps, "10.00")
    order = flows.place(deps, lines=[_ship(sku, 2)], shipping_address=_address("28013"))
    # IVA included: 20.00 holds 3.47, the 4.95 fee 0.86.
    assert _breakdown(order) == (D("20.00"), D("0.00"), D("4.95"), D("4.33"), D("24.95"))
    assert order.pricing is not None and order.pricing.quote_id is None
    assert (order.pricing.tax.name.value, order.pricing.tax.included) == ("IVA", True)
    assert order.lines[0].unit_price.amount == D("10.00")


def test_mainland_from_the_threshold_ships_free(deps: Deps) -> None:
    sku = _sku(deps, "25.00")
    order = flows.place(deps, lines=[_ship(sku, 2)], shipping_address=_address("28013"))
    assert _breakdown(order) == (D("50.00"), D("0.00"), D("0.00"), D("8.68"), D("50.00"))


def test_the_canaries_pay_igic_on_top_of_the_price_without_iva(deps: Deps) -> None:
    sku = _sku(deps, "10.00")
    order = flows.place(deps, lines=[_ship(sku, 2)], shipping_address=_address("35001"))
    # 10.00 / 1.21 = 8.26 a unit; the Canaries' 9.95 fee; IGIC 7 %: 1.16 + 0.70.
    assert _breakdown(order) == (D("16.52"), D("0.00"), D("9.95"), D("1.86"), D("28.33"))
    assert order.pricing is not None
    assert (order.pricing.tax.name.value, order.pricing.tax.included) == ("IGIC", False)
    (line,) = order.lines
    assert (line.unit_price.amount, line.line_total.amount) == (D("8.26"), D("16.52"))
    assert line.charged is not None and line.charged.amount == D("17.68")  # its IGIC in


@pytest.mark.parametrize("postal_code", ["51001", "52006"])
def test_ceuta_and_melilla_pay_ipsi_on_top(deps: Deps, postal_code: str) -> None:
    sku = _sku(deps, "12.10")
    order = flows.place(deps, lines=[_ship(sku, 2)], shipping_address=_address(postal_code))
    # 20.00 without IVA, the 12.95 fee, IPSI 5 % on both (1.00 + 0.65).
    assert _breakdown(order) == (D("20.00"), D("0.00"), D("12.95"), D("1.65"), D("34.60"))
    assert order.pricing is not None and order.pricing.tax.name.value == "IPSI"


def test_a_pick_up_is_taxed_at_its_store_and_pays_no_shipping(deps: Deps) -> None:
    sku = _sku(deps, "10.00")
    order = flows.place(deps, lines=[_pickup(sku, 1)], shipping_address=None)
    assert _breakdown(order) == (D("10.00"), D("0.00"), D("0.00"), D("1.74"), D("10.00"))


def test_a_kiosk_sale_is_taxed_at_its_store(deps: Deps) -> None:
    sku = _sku(deps, "10.00")
    order = flows.place(
        deps,
        channel="kiosk",
        store_id="ST-BARCELONA",
        lines=[_pickup(sku, 3, "ST-BARCELONA")],
        shipping_address=None,
    )
    assert _breakdown(order) == (D("30.00"), D("0.00"), D("0.00"), D("5.21"), D("30.00"))


def test_a_mixed_order_pays_igic_on_what_ships_and_iva_on_what_is_collected(
    deps: Deps,
) -> None:
    sku = _sku(deps, "10.00")
    order = flows.place(
        deps,
        lines=[_ship(sku, 1), _pickup(sku, 1)],
        shipping_address=_address("35001"),
    )
    # 8.26 shipped + 10.00 collected in Madrid; the 9.95 fee; IGIC on 8.26 and the fee.
    assert _breakdown(order) == (D("18.26"), D("0.00"), D("9.95"), D("1.28"), D("29.49"))
    charged = {line.fulfillment: line.charged for line in order.lines}
    assert charged[FulfillmentType.SHIP] is not None
    assert charged[FulfillmentType.SHIP].amount == D("8.84")
    assert charged[FulfillmentType.PICKUP] is not None
    assert charged[FulfillmentType.PICKUP].amount == D("10.00")


def test_an_address_abroad_is_priced_as_the_mainland(deps: Deps) -> None:
    sku = _sku(deps, "10.00")
    order = flows.place(deps, lines=[_ship(sku, 2)], shipping_address=_address("75001", "FR"))
    assert _breakdown(order) == (D("20.00"), D("0.00"), D("4.95"), D("4.33"), D("24.95"))


def test_a_spanish_address_needs_a_spanish_postal_code(deps: Deps) -> None:
    with pytest.raises(ValidationError) as refused:
        PlaceOrderRequest.model_validate(flows.body(shipping_address=_address("99001")))
    assert [error["loc"] for error in refused.value.errors()] == [
        ("shipping_address", "postal_code")
    ]


def test_an_unknown_coupon_is_refused_naming_it_and_nothing_is_stored(deps: Deps) -> None:
    request = PlaceOrderRequest.model_validate(flows.body(coupon="NOPE10"))
    with pytest.raises(InvalidCoupon) as refused:
        ordering.place_order(request, "ord_coupon", deps, "demo-shop")
    assert refused.value.field == "coupon"
    with pytest.raises(NotFound):
        deps.store.get_order("ord_coupon")


# -- the breakdown people read ---------------------------------------------------------------


def _confirmation(deps: Deps, order: Order) -> tuple[str, str]:
    """The confirmation email's HTML and text parts."""
    assert isinstance(deps.events, RecordingEvents)
    assert isinstance(deps.mailer, Outgoing)
    for event in list(deps.events.published):
        if event.get("order_id") == order.order_id and "ticket_id" not in event:
            notify.on_order_event(event, deps)
    (mail,) = [m for m in deps.mailer.sent if "confirm" in m["parts"].split("\n", 1)[0]]
    _, rest = mail["parts"].split("\n", 1)
    html, _, text = rest.partition("</html>")
    return html, text


def _page(order: Order) -> str:
    return tracking_html(order, order.placed_at)


def _rows(html: str) -> list[tuple[str, str]]:
    """The breakdown rows of a rendered table, as read."""
    cells = re.findall(r'<tr class="breakdown"><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>', html)
    return [(label, amount) for label, amount in cells]


def test_the_confirmation_email_shows_the_breakdown_in_spanish(deps: Deps) -> None:
    order = flows.reserved(deps)  # two T-shirts to Madrid: 39.90, below the threshold
    html, text = _confirmation(deps, order)
    expected = [
        ("Subtotal", "39,90\xa0€"),
        ("Envío", "4,95\xa0€"),
        ("IVA incluido (21\xa0%)", "7,78\xa0€"),
    ]
    assert _rows(html) == expected
    block = "\n".join(f"{label}: {amount}" for label, amount in expected) + "\nTotal: 44,85\xa0€"
    # The items too, as the HTML table lists them (a probe: the text part had none).
    assert f"Camiseta negra M: 2 × 19,95\xa0€\n{block}" in text
    assert html.count("IVA incluido") == 1  # in the table, not again as a paragraph
    assert html.count("2 × 19,95") == 1


def test_every_order_email_s_text_part_lists_what_its_html_table_does(deps: Deps) -> None:
    assert isinstance(deps.events, RecordingEvents)
    assert isinstance(deps.mailer, Outgoing)
    order = flows.shipped(deps)
    for event in list(deps.events.published):
        notify.on_order_event(event, deps)

    texts = [m["parts"].partition("</html>")[2] for m in deps.mailer.sent]
    assert len(texts) == 2  # the confirmation and the parcel leaving
    for text in texts:
        assert "Camiseta negra M: 2 × 19,95\xa0€\nSubtotal: 39,90\xa0€" in text
        assert "Total: 44,85\xa0€" in text
    assert order.order_id in texts[1]


def test_the_confirmation_email_shows_igic_on_top_in_english(deps: Deps) -> None:
    customer = flows.body()["customer"] | {"locale": "en"}
    order = flows.reserved(deps, customer=customer, **_canaries(deps))
    html, text = _confirmation(deps, order)
    assert _rows(html) == [
        ("Subtotal", "€16.52"),
        ("Shipping", "€9.95"),
        ("IGIC 7\xa0%", "€1.86"),
    ]
    assert "IGIC 7\xa0%: €1.86\nTotal: €28.33" in text


def test_the_tracking_page_shows_free_shipping_and_the_tax_included(deps: Deps) -> None:
    sku = _sku(deps, "25.00")
    order = flows.place(deps, lines=[_ship(sku, 2)], shipping_address=_address("28013"))
    html = _page(order)
    assert _rows(html) == [
        ("Subtotal", "50,00\xa0€"),
        ("Envío", "Gratis"),
        ("IVA incluido (21\xa0%)", "8,68\xa0€"),
    ]
    assert "50,00\xa0€</th>" in html  # the total


def test_the_tracking_page_of_a_pick_up_shows_no_shipping_row(deps: Deps) -> None:
    sku = _sku(deps, "10.00")
    order = flows.place(deps, lines=[_pickup(sku, 1)], shipping_address=None)
    order.contact.locale = "en"
    assert _rows(_page(order)) == [
        ("Subtotal", "€10.00"),
        ("IVA included (21\xa0%)", "€1.74"),
    ]


@pytest.mark.parametrize("reverse", [False, True], ids=["as_quoted", "listed_the_other_way"])
def test_an_order_on_a_quote_charges_each_line_what_the_quote_priced_it(
    deps: Deps, reverse: bool
) -> None:
    # The same SKU shipped to Las Palmas (8.26, IGIC on top) and collected in Madrid
    # (10.00, IVA in): each line keeps its own price, whichever order they come in.
    sku = _sku(deps, "10.00")
    lines = [_ship(sku, 1), _pickup(sku, 1)]
    body = {k: v for k, v in flows.body(lines=lines).items() if k not in ("payment", "consent")}
    body["shipping_address"] = _address("35001")
    quote = quoting.create_quote(QuoteRequest.model_validate(body), "demo-shop", deps)
    order = flows.place(
        deps,
        lines=list(reversed(lines)) if reverse else lines,
        shipping_address=_address("35001"),
        quote_id=quote.quote_id,
    )
    assert order.total.amount == quote.breakdown.total == D("29.49")
    charged = {line.fulfillment: line.charged for line in order.lines}
    assert charged[FulfillmentType.SHIP] == Money.of("8.84")
    assert charged[FulfillmentType.PICKUP] == Money.of("10.00")
    assert rules.extra_value(order) == Money.of("10.65")  # the fee with its IGIC


def test_an_email_after_a_part_was_not_charged_says_so_after_the_total(deps: Deps) -> None:
    # A re-probe: "no se te cobrarán 19,95 €" above a table ending at the full total.
    from chalicelib.services import fulfillment_steps
    from chalicelib.services.step_models import FulfillmentStep

    assert isinstance(deps.events, RecordingEvents)
    assert isinstance(deps.mailer, Outgoing)
    order = flows.shipped(deps, lines=flows.MIXED)
    pickup = next(f for f in order.fulfillments if f.type.value == "pickup")
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)
    fulfillment_steps.handle_fulfillment_timeout(step, deps)
    for event in list(deps.events.published):
        notify.on_order_event(event, deps)

    (mail,) = [m for m in deps.mailer.sent if "se ha cancelado" in m["parts"].split("\n", 1)[0]]
    html, _, text = mail["parts"].partition("</html>")
    assert "Total: 44,85\xa0€\nNo cobrado (no entregado): 19,95\xa0€" in text
    assert re.search(r'<tr class="settled"><td[^>]*>No cobrado \(no entregado\)</td>', html)
