"""The order's price breakdown as a customer reads it, on the tracking page and in the
emails: subtotal, the discount if any, shipping ("Gratis" / "Free" when nothing is
charged), the tax line ("IVA incluido (21 %)", "IGIC 7 %") and money written by Babel."""

from collections.abc import Iterable
from decimal import Decimal

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.money import Money
from chalicelib.domain.orders import Order
from chalicelib.domain.pricing import TaxBreakdown
from chalicelib.domain.regions import TaxName
from chalicelib.presentation.wording import BABEL_LOCALES, Language, format_money

WORDS: dict[Language, dict[str, str]] = {
    Language.ES: {
        "subtotal": "Subtotal",
        "discount": "Descuento",
        "shipping": "Envío",
        "free": "Gratis",
        "included": "{name} incluido ({rate})",
        "refunded": "Reembolsado",
        "not_charged": "No cobrado (no entregado)",
    },
    Language.EN: {
        "subtotal": "Subtotal",
        "discount": "Discount",
        "shipping": "Shipping",
        "free": "Free",
        "included": "{name} included ({rate})",
        "refunded": "Refunded",
        "not_charged": "Not charged (not delivered)",
    },
}


class BreakdownRow(DeferredModel):
    """One row: what it is and how much, both ready to print."""

    label: str
    amount: str


def format_rate(rate: Decimal, language: Language) -> str:
    """A tax rate as a percentage in the customer's notation: "21 %", "3,5 %" (es)."""
    from babel.numbers import format_decimal  # lazily: only what people read needs it

    number = format_decimal(rate * 100, format="#,##0.##", locale=BABEL_LOCALES[language])
    return f"{number}\u00a0%"


def breakdown_rows(order: Order, language: Language) -> list[BreakdownRow]:
    """The rows before the total; none for an order priced before the engine."""
    pricing = order.pricing
    if pricing is None:
        return []
    words = WORDS[language]
    currency = order.total.currency

    def money(amount: Decimal) -> str:
        return format_money(Money.of(amount, currency), language)

    rows = [BreakdownRow(label=words["subtotal"], amount=money(pricing.subtotal))]
    if pricing.discount > 0:
        rows.append(BreakdownRow(label=words["discount"], amount=f"−{money(pricing.discount)}"))
    if any(line.location_id is None for line in order.lines):
        shipping = money(pricing.shipping) if pricing.shipping > 0 else words["free"]
        rows.append(BreakdownRow(label=words["shipping"], amount=shipping))
    # Each tax apart: a Canary parcel's IGIC and the IVA its Madrid pick-up includes.
    for tax in pricing.each_tax():
        tax_row = _tax_row(tax, language, money(tax.amount))
        if tax_row is not None:
            rows.append(tax_row)
    return rows


def _tax_row(tax: TaxBreakdown, language: Language, amount: str) -> BreakdownRow | None:
    if tax.name is TaxName.NONE or not tax.rate:
        return None
    rate = format_rate(tax.rate, language)
    if tax.included:
        label = WORDS[language]["included"].format(name=tax.name.value, rate=rate)
    else:
        label = f"{tax.name.value} {rate}"
    return BreakdownRow(label=label, amount=amount)


def settled_rows(order: Order, language: Language) -> list[BreakdownRow]:
    """What the customer's card saw besides the total, after it: parts never handed over
    released from the authorisation, returns and lost parcels refunded."""
    words = WORDS[language]
    return [
        BreakdownRow(label=words[key], amount=f"{sign}{format_money(money, language)}")
        for key, sign, money in (
            ("not_charged", "", order.payment.released()),
            ("refunded", "−", order.payment.refunded),
        )
        if money is not None and money.amount > 0
    ]


def breakdown_text(
    rows: list[BreakdownRow],
    total_label: str,
    total: str,
    items: Iterable[str] = (),
    settled: Iterable[BreakdownRow] = (),
) -> str:
    """The items, the rows, the total and what was not charged or refunded as plain-text
    lines, for the text part of an email: what its HTML table shows (a probe: the text
    part had no items)."""
    lines = [f"{row.label}: {row.amount}" for row in rows]
    after = [f"{row.label}: {row.amount}" for row in settled]
    return "\n".join([*items, *lines, f"{total_label}: {total}", *after]) if rows else ""
