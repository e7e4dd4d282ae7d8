"""Codes as a customer reads them, in Spanish or English: statuses and reasons as words,
money with Babel's ``format_currency``, dates and times with ``format_datetime`` in the
destination's own time zone. The API's JSON keeps the codes; pages and emails use these."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.money import Money

if TYPE_CHECKING:
    from chalicelib.domain.orders import Order


class Language(StrEnum):
    """The languages customers are spoken to in."""

    ES = "es"
    EN = "en"


DEFAULT_LANGUAGE = Language.ES
# Babel locales: Spain's Spanish, and British English for the retailer's English-speaking
# customers (24-hour clock and day-month order, as the shop's own times are read).
BABEL_LOCALES = {Language.ES: "es_ES", Language.EN: "en_GB"}

MADRID = ZoneInfo("Europe/Madrid")
CANARY = ZoneInfo("Atlantic/Canary")
# Postal codes of the Canary Islands' two provinces: Las Palmas (35) and Santa Cruz (38).
_CANARY_POSTAL_CODE = re.compile(r"^\s*3[58]\d{3}\s*$")
_SPAIN = frozenset({"ES", "ESP", "SPAIN", "ESPAÑA", "ESPANA"})
# Portugal keeps two clocks: the Azores' (postal codes 9500 to 9999) an hour behind the
# mainland's and Madeira's (a probe: a Lisbon customer read Madrid's times, unlabelled).
_PORTUGAL = frozenset({"PT", "PRT", "PORTUGAL"})
# Written as 9500-150, 9500 150 or 9500150 (probe 202: only the first was read).
_AZORES_POSTAL_CODE = re.compile(r"^\s*9[5-9]\d{2}(\s*-?\s*\d{3})?\s*$")
LISBON = ZoneInfo("Europe/Lisbon")
AZORES = ZoneInfo("Atlantic/Azores")

# CLDR skeletons, not patterns: each locale orders and spells the fields its own way.
_DATE_SKELETON = "yMMMd"  # 23 nov 2026 / 23 Nov 2026
_DAY_SKELETON = "MMMEd"  # jue, 26 nov / Thu 26 Nov
_TIME_SKELETON = "Hm"  # 20:00 (24-hour in both locales)

# Every code, as (Spanish, English). Tests check each enum value of the domain has one.
ORDER_STATUS_WORDS: dict[str, tuple[str, str]] = {
    "ACCEPTED": ("Recibido", "Received"),
    # PAID is an authorisation: each part is charged when it is handed over (probe 247: a
    # customer read "Pagado" beside a confirmation saying nothing was taken yet).
    "PAID": ("Pago autorizado", "Payment authorised"),
    "REJECTED": ("No completado", "Not completed"),
    "RESERVED": ("En preparación", "Being prepared"),
    "SHIPPED": ("Enviado", "Shipped"),
    "READY_FOR_PICKUP": ("Listo para recoger", "Ready for pick-up"),
    "DELIVERED": ("Entregado", "Delivered"),
    "RETURNED": ("Devuelto", "Returned"),
    "CANCELLED": ("Cancelado", "Cancelled"),
}
FULFILLMENT_STATUS_WORDS: dict[str, tuple[str, str]] = {
    "PENDING": ("En preparación", "Being prepared"),
    "SHIPPED": ("Enviado", "Shipped"),
    "READY_FOR_PICKUP": ("Listo para recoger", "Ready for pick-up"),
    "DELIVERED": ("Entregado", "Delivered"),
    "RETURNED": ("Devuelto", "Returned"),
    "CANCELLED": ("Cancelado", "Cancelled"),
    "LOST": ("Perdido por el transportista", "Lost by the carrier"),
}
# A pick-up is not delivered to the customer: the customer collects it.
_COLLECTED = ("Recogido", "Collected")
REASON_WORDS: dict[str, tuple[str, str]] = {
    "payment_declined": ("La tarjeta fue rechazada", "The card was declined"),
    # payment_declined because the gateway did not answer (``Order.reason_cause``).
    "gateway_unavailable": ("No pudimos contactar con el banco", "We could not reach the bank"),
    "out_of_stock": ("Sin existencias suficientes", "Not enough stock"),
    "customer_request": ("A petición tuya", "At your request"),
    # customer_request, cancelled by staff (``Order.reason_cause``).
    "cancelled_at_store": ("En la tienda", "At the store"),
    "cancelled_by_service": (
        "Por nuestro servicio de atención al cliente",
        "By our customer service",
    ),
    "not_collected": ("No se recogió a tiempo", "Not collected in time"),
    "processing_error": ("Un error nuestro al procesarlo", "An error on our side"),
}
RETURN_STATUS_WORDS: dict[str, tuple[str, str]] = {
    "REQUESTED": ("Solicitada", "Requested"),
    "RECEIVED": ("Recibida y reembolsada", "Received and refunded"),
    # Received, its refund owed: the gateway failed, the sweeper retries it.
    "RECEIVED_REFUND_PENDING": ("Recibida; reembolso en curso", "Received; refund on its way"),
    # Received, and nothing to refund: those units were never charged (a 100 % coupon).
    "RECEIVED_NOTHING_CHARGED": (
        "Recibida; no se te cobró, nada que reembolsar",
        "Received; not charged, nothing to refund",
    ),
}
RETURN_CHANNEL_WORDS: dict[str, tuple[str, str]] = {
    "store": ("En tienda", "At a store"),
    "mail": ("Por correo", "By post"),
}
FULFILLMENT_TYPE_WORDS: dict[str, tuple[str, str]] = {
    "ship": ("Envío a domicilio", "Home delivery"),
    "pickup": ("Recogida en tienda", "Store pick-up"),
}
SLA_STATUS_WORDS: dict[str, tuple[str, str]] = {
    "on_time": ("En plazo", "On time"),
    "at_risk": ("Puede retrasarse", "May be late"),
    "breached": ("Con retraso", "Late"),
    "met": ("Entregado a tiempo", "Delivered on time"),
    "late": ("Entregado con retraso", "Delivered late"),
}
# What a carrier reported on a parcel still on its way, as its page says it (``{at}``: the
# local date and time of the report); the other events say nothing the status does not.
# The problem is worded as the ticket's email about it (templates/tickets/opened_by_us).
CARRIER_EVENT_WORDS: dict[str, tuple[str, str]] = {
    "exception": (
        "Incidencia: el transportista nos avisó de un problema con el paquete el {at}. "
        "Lo estamos siguiendo y te escribiremos en cuanto sepamos más.",
        "A problem: the carrier told us of a problem with the parcel on {at}. "
        "We are following it up and will write again as soon as we know more.",
    ),
    "out_for_delivery": ("En reparto desde el {at}", "Out for delivery since {at}"),
}
PAYMENT_STATUS_WORDS: dict[str, tuple[str, str]] = {
    "PENDING": ("Pendiente", "Pending"),
    "AUTHORIZED": ("Autorizado", "Authorised"),
    "CAPTURED": ("Cobrado", "Charged"),
    "DECLINED": ("Rechazado", "Declined"),
    "FAILED": ("Sin respuesta del banco", "No answer from the bank"),
    "PARTIALLY_REFUNDED": ("Reembolsado en parte", "Partly refunded"),
    "REFUNDED": ("Reembolsado", "Refunded"),
    "VOIDED": ("Anulado sin cargo", "Released, nothing charged"),
    "CANCELLED": ("Cancelado sin cargo", "Cancelled, nothing charged"),
}
CHANNEL_WORDS: dict[str, tuple[str, str]] = {
    "web": ("Web", "Web"),
    "app": ("App", "App"),
    "store": ("Tienda", "Store"),
    "kiosk": ("Quiosco de tienda", "In-store kiosk"),
    "phone": ("Teléfono", "Phone"),
}
ACTION_WORDS: dict[str, tuple[str, str]] = {
    "cancel": ("Cancelar el pedido", "Cancel the order"),
    "return": ("Devolver artículos", "Return items"),
    "ticket": ("Hacer una consulta o reclamación", "Ask a question or complain"),
    "pay": ("Pagar de nuevo", "Pay again"),
}


def language_of(locale: str | None) -> Language:
    """The language to speak: English for any ``en`` locale (``en``, ``en-GB``, ``en_US``),
    Spanish for everything else, unknown or missing included."""
    if locale:
        primary = locale.strip().replace("_", "-").split("-")[0].lower()
        if primary == Language.EN.value:
            return Language.EN
    return DEFAULT_LANGUAGE


def zone_of(postal_code: str | None, country: str | None = "ES") -> ZoneInfo:
    """The destination's time zone (``destination_zone``), else the retailer's own clock
    (Madrid), which ``Wording`` then names beside each time."""
    return destination_zone(postal_code, country) or MADRID


def destination_zone(postal_code: str | None, country: str | None = "ES") -> ZoneInfo | None:
    """The destination's time zone: Atlantic/Canary for the Canary Islands' postal codes
    (35xxx, 38xxx), Europe/Madrid for the rest of Spain; Portugal's by its postal code;
    abroad, the one clock the country keeps (``_country_zone``); None for a country whose
    regions keep different clocks, or an unknown one."""
    code = (country or "ES").strip().upper()
    if code in _SPAIN:
        if postal_code and _CANARY_POSTAL_CODE.match(postal_code):
            return CANARY
        return MADRID
    if code in _PORTUGAL:
        return AZORES if postal_code and _AZORES_POSTAL_CODE.match(postal_code) else LISBON
    return _country_zone(code)


# Moments at which a country's zones are compared: winter and summer time.
_CLOCK_CHECKS = (datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC))


@lru_cache(maxsize=512)
def _country_zone(country: str) -> ZoneInfo | None:
    """The clock a country keeps everywhere (CLDR's zones of the territory, all on one
    offset in winter and in summer: France, the United Kingdom, Germany with Büsingen),
    or None when its regions differ (the United States; Portugal with the Azores), where
    the postal code would be needed to know. A probe: a New York customer read Madrid's
    times, unlabelled, 6 hours off."""
    from babel.core import get_global  # lazily, as every Babel import here

    zones = [ZoneInfo(name) for name in get_global("territory_zones").get(country, ())]
    if not zones:
        return None
    offsets = {
        tuple(moment.astimezone(zone).utcoffset() for moment in _CLOCK_CHECKS) for zone in zones
    }
    return zones[0] if len(offsets) == 1 else None


def _word(table: dict[str, tuple[str, str]], code: str, language: Language) -> str:
    # An unknown code is shown as it is rather than failing a customer's page.
    words = table.get(code)
    if words is None:
        return code
    return words[0] if language is Language.ES else words[1]


def _code(value: object) -> str:
    # Enums and plain strings alike: StrEnum members are their value.
    return str(getattr(value, "value", value))


def status_word(status: object, language: Language) -> str:
    """An order status as a word: ``SHIPPED`` is "Enviado" / "Shipped"."""
    return _word(ORDER_STATUS_WORDS, _code(status), language)


def fulfillment_status_word(
    status: object, language: Language, fulfillment_type: object = "ship"
) -> str:
    """A fulfillment's status as a word; a delivered pick-up reads "Recogido" / "Collected"."""
    if _code(status) == "DELIVERED" and _code(fulfillment_type) == "pickup":
        return _COLLECTED[0] if language is Language.ES else _COLLECTED[1]
    return _word(FULFILLMENT_STATUS_WORDS, _code(status), language)


def reason_word(reason: object, language: Language) -> str:
    """Why an order was rejected or cancelled, as a sentence fragment; "" for no reason."""
    if reason is None:
        return ""
    return _word(REASON_WORDS, _code(reason), language)


# A rejection for lack of stock, naming what ran out (probe 224: "not enough stock" of a
# two-line order left the customer to guess which product they could not have).
_SHORT_OF_WORDS = ("Sin existencias suficientes de {names}", "Not enough stock of {names}")
# A product short only at its pick-up store, the web having it (probe 232).
_SHORT_AT_STORE_WORDS = (
    (
        "Sin existencias suficientes de {names} en la tienda de recogida",
        ", ni de {names} en la tienda de recogida",
    ),
    ("Not enough stock of {names} at the pick-up store", ", nor of {names} at the pick-up store"),
)


def names_list(names: Iterable[str], language: Language) -> str:
    """Names joined as the language lists them: "A, B y C" / "A, B and C"."""
    from babel.lists import format_list  # lazily, as every Babel import here

    return str(format_list(list(names), locale=BABEL_LOCALES[language]))


def order_reason_words(order: "Order", language: Language) -> str:
    """Why the order was rejected or cancelled, as a sentence fragment: ``reason_word``
    of its cause, and for a lack of stock the products that ran out, by name."""
    names = order.out_of_stock_names()
    if order.reason_cause() != "out_of_stock" or not names:
        return reason_word(order.reason_cause(), language)
    index = 0 if language is Language.ES else 1
    at_store = order.short_at_pickup_names()
    elsewhere = [name for name in names if name not in at_store]
    alone, beside = _SHORT_AT_STORE_WORDS[index]
    if not elsewhere:
        return alone.format(names=names_list(at_store, language))
    said = _SHORT_OF_WORDS[index].format(names=names_list(elsewhere, language))
    return said + (beside.format(names=names_list(at_store, language)) if at_store else "")


def return_status_word(status: object, language: Language) -> str:
    """A return's status as a word."""
    return _word(RETURN_STATUS_WORDS, _code(status), language)


def return_channel_word(channel: object, language: Language) -> str:
    """How the goods come back: at a store or by post."""
    return _word(RETURN_CHANNEL_WORDS, _code(channel), language)


def fulfillment_type_word(fulfillment_type: object, language: Language) -> str:
    """Home delivery or store pick-up."""
    return _word(FULFILLMENT_TYPE_WORDS, _code(fulfillment_type), language)


def sla_status_word(status: object, language: Language) -> str:
    """A shipment's promise as the customer reads it."""
    return _word(SLA_STATUS_WORDS, _code(status), language)


def carrier_event_word(event_type: str, language: Language, at: str) -> str | None:
    """What the carrier last reported on a parcel on its way, worded for its page, with
    ``at`` its local date and time; None for an event the page has nothing to add for."""
    words = CARRIER_EVENT_WORDS.get(event_type)
    if words is None:
        return None
    return (words[0] if language is Language.ES else words[1]).format(at=at)


def payment_status_word(status: object, language: Language) -> str:
    """Where the customer's money is, in words."""
    return _word(PAYMENT_STATUS_WORDS, _code(status), language)


def channel_word(channel: object, language: Language) -> str:
    """Where the order was placed."""
    return _word(CHANNEL_WORDS, _code(channel), language)


def action_word(action: object, language: Language) -> str:
    """The label of a self-service action (a button or a form's title)."""
    return _word(ACTION_WORDS, _code(action), language)


def format_money(
    amount: Money | Decimal | str | int, language: Language, currency: str = "EUR"
) -> str:
    """Money as the customer writes it: ``12,50 €`` (es), ``€12.50`` (en). Babel puts a
    no-break space between amount and sign in Spanish, so a line never splits there."""
    if isinstance(amount, Money):
        value, currency = amount.amount, amount.currency
    else:
        value = Decimal(amount)
    from babel.numbers import format_currency  # lazily: only what people read needs it

    return format_currency(value, currency, locale=BABEL_LOCALES[language])


def _aware(at: datetime) -> datetime:
    # The house stores UTC; a naive timestamp is one that lost its zone on the way.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@lru_cache(maxsize=16)
def _pattern(skeleton: str, locale: str) -> str:
    # The locale's own pattern for a skeleton; "Hm" is 24-hour in both locales.
    from babel import Locale

    return str(Locale.parse(locale).datetime_skeletons[skeleton].pattern)


@lru_cache(maxsize=4)
def _when_pattern(locale: str) -> str:
    # The locale's way of joining a date and a time ("{1}, {0}"), around the skeletons':
    # Babel's own "medium" would show seconds, which no customer needs.
    from babel import Locale

    joined = str(Locale.parse(locale).datetime_formats["medium"])
    time = _pattern(_TIME_SKELETON, locale)
    return joined.replace("{1}", _pattern(_DATE_SKELETON, locale)).replace("{0}", time)


def format_when(
    at: datetime, language: Language, zone: ZoneInfo = MADRID, named: bool = False
) -> str:
    """A moment as its local date and time, to the minute: "23 nov 2026, 20:00"; with the
    clock's name when ``named`` ("23 nov 2026, 20:00 hora de España (Madrid)")."""
    locale = BABEL_LOCALES[language]
    from babel.dates import format_datetime

    pattern = _when_pattern(locale) + (" VVVV" if named else "")
    return format_datetime(_aware(at), pattern, tzinfo=zone, locale=locale)


def format_date(at: datetime, language: Language, zone: ZoneInfo = MADRID) -> str:
    """The local date: "23 nov 2026"."""
    locale = BABEL_LOCALES[language]
    from babel.dates import format_datetime

    return format_datetime(_aware(at), _pattern(_DATE_SKELETON, locale), tzinfo=zone, locale=locale)


def format_day(at: datetime, language: Language, zone: ZoneInfo = MADRID) -> str:
    """The local day, named, for what is days away (a promise, a pick-up deadline):
    "jue, 26 nov"."""
    locale = BABEL_LOCALES[language]
    from babel.dates import format_datetime

    return format_datetime(_aware(at), _pattern(_DAY_SKELETON, locale), tzinfo=zone, locale=locale)


def format_time(
    at: datetime, language: Language, zone: ZoneInfo = MADRID, named: bool = False
) -> str:
    """The local time of day: "20:00"; with the clock's name when ``named``."""
    locale = BABEL_LOCALES[language]
    from babel.dates import format_datetime

    pattern = _pattern(_TIME_SKELETON, locale) + (" VVVV" if named else "")
    return format_datetime(_aware(at), pattern, tzinfo=zone, locale=locale)


class TimelineEntry(DeferredModel):
    """One step of the order as the customer's page shows it: the code (for the JSON and
    styling), its words, the local time, and why, for a rejection or cancellation."""

    status: str
    label: str
    at: datetime
    when: str
    reason: str = ""


_ENDINGS = frozenset({"REJECTED", "CANCELLED"})


def customer_timeline(
    steps: Iterable[tuple[object, datetime, object]],
    language: Language,
    zone: ZoneInfo = MADRID,
    named: bool = False,
) -> list[TimelineEntry]:
    """The order's history as the customer reads it, from its ``(status, at, cause)``
    steps: words and local times, never ops' details (sourcing notes, location ids). A
    rejection or cancellation says its own cause (``Order.step_causes``)."""
    return [
        TimelineEntry(
            status=_code(status),
            label=status_word(status, language),
            at=_aware(at),
            when=format_when(at, language, zone, named),
            reason=reason_word(cause, language) if _code(status) in _ENDINGS else "",
        )
        for status, at, cause in steps
    ]


@dataclass(frozen=True)
class Wording:
    """One customer's way of reading things: their language and their destination's time
    zone, so a template writes ``w.status(order.status)`` and ``w.when(entry.at)``."""

    language: Language = DEFAULT_LANGUAGE
    zone: ZoneInfo = MADRID
    # Whether each time names its clock: the destination's own is not known (a country
    # whose regions keep different clocks), so times are Madrid's, and say so.
    zone_named: bool = False

    @classmethod
    def for_customer(
        cls, locale: str | None, postal_code: str | None = None, country: str | None = "ES"
    ) -> "Wording":
        """The wording for an order's locale and the postal code its goods go to."""
        zone = destination_zone(postal_code, country)
        return cls(language_of(locale), zone or MADRID, zone is None)

    def at(self, postal_code: str | None) -> "Wording":
        """The same words on the clock of a place in Spain (a pick-up's store: a Canary
        address's pick-up in Madrid waits until Madrid's closing time, not the Canaries'),
        naming it where the customer's own clock is another, or unnamed (probe 202: a
        Lisbon customer read the store's deadline as if on their clock)."""
        if not postal_code:
            return self
        zone = zone_of(postal_code, "ES")
        return Wording(self.language, zone, self.zone_named or zone.key != self.zone.key)

    @classmethod
    def for_order(cls, order: "Order") -> "Wording":
        """The order's language, and the time zone its goods go to (the store's for an
        order without an address: Madrid's, as every store is in peninsular Spain)."""
        address = order.shipping_address
        return cls.for_customer(
            order.contact.locale,
            address.postal_code if address else None,
            address.country if address else "ES",
        )

    @property
    def locale(self) -> str:
        """The language code, for ``<html lang>`` and the JSON's ``locale``."""
        return self.language.value

    def status(self, status: object) -> str:
        """An order status as a word."""
        return status_word(status, self.language)

    def fulfillment_status(self, status: object, fulfillment_type: object = "ship") -> str:
        """A fulfillment status as a word."""
        return fulfillment_status_word(status, self.language, fulfillment_type)

    def reason(self, reason: object) -> str:
        """A rejection or cancellation reason as words."""
        return reason_word(reason, self.language)

    def order_reason(self, order: "Order") -> str:
        """Why the order ended, naming what ran out for a lack of stock."""
        return order_reason_words(order, self.language)

    def names(self, names: Iterable[str]) -> str:
        """Names listed as the language joins them."""
        return names_list(names, self.language)

    def money(self, amount: Money | Decimal | str | int, currency: str = "EUR") -> str:
        """Money in the customer's notation."""
        return format_money(amount, self.language, currency)

    def when(self, at: datetime) -> str:
        """A local date and time."""
        return format_when(at, self.language, self.zone, self.zone_named)

    def date(self, at: datetime) -> str:
        """A local date."""
        return format_date(at, self.language, self.zone)

    def day(self, at: datetime) -> str:
        """A local day, named."""
        return format_day(at, self.language, self.zone)

    def time(self, at: datetime) -> str:
        """A local time of day."""
        return format_time(at, self.language, self.zone, self.zone_named)

    def timeline(self, steps: Iterable[tuple[object, datetime, object]]) -> list[TimelineEntry]:
        """The order's steps in words and local times, each ending with its cause."""
        return customer_timeline(steps, self.language, self.zone, self.zone_named)
