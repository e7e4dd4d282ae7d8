"""What the customer reads: statuses as words, money and local dates in es and en."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import HistoryEntry, OrderStatus
from chalicelib.domain.payments import PaymentStatus
from chalicelib.domain.placement import Channel
from chalicelib.domain.requests import CarrierEventRequest
from chalicelib.domain.returns import ReturnStatus
from chalicelib.domain.status_reasons import StatusReason
from chalicelib.presentation.wording import (
    CANARY,
    CARRIER_EVENT_WORDS,
    CHANNEL_WORDS,
    FULFILLMENT_STATUS_WORDS,
    FULFILLMENT_TYPE_WORDS,
    MADRID,
    ORDER_STATUS_WORDS,
    PAYMENT_STATUS_WORDS,
    REASON_WORDS,
    RETURN_STATUS_WORDS,
    Language,
    Wording,
    action_word,
    carrier_event_word,
    customer_timeline,
    format_date,
    format_day,
    format_money,
    format_time,
    format_when,
    fulfillment_status_word,
    language_of,
    order_reason_words,
    reason_word,
    sla_status_word,
    status_word,
    zone_of,
)
from tests.support.builders import NOW, line, paid, pickup

ES, EN = Language.ES, Language.EN
NBSP = "\xa0"
# 19:00 UTC on a winter Monday: 20:00 in Madrid, 19:00 in the Canaries.
WINTER_EVENING = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
# 08:05 UTC in summer: 10:05 in Madrid, 09:05 in the Canaries.
SUMMER_MORNING = datetime(2026, 7, 1, 8, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "es", "en"),
    [
        (OrderStatus.SHIPPED, "Enviado", "Shipped"),
        (OrderStatus.READY_FOR_PICKUP, "Listo para recoger", "Ready for pick-up"),
        (OrderStatus.DELIVERED, "Entregado", "Delivered"),
        (OrderStatus.REJECTED, "No completado", "Not completed"),
        (OrderStatus.CANCELLED, "Cancelado", "Cancelled"),
    ],
)
def test_order_statuses_read_as_words(status: OrderStatus, es: str, en: str) -> None:
    assert status_word(status, ES) == es
    assert status_word(status, EN) == en
    assert status_word(status.value, ES) == es  # a code read from JSON reads the same


@pytest.mark.parametrize(
    ("enum", "table"),
    [
        (OrderStatus, ORDER_STATUS_WORDS),
        (FulfillmentStatus, FULFILLMENT_STATUS_WORDS),
        (StatusReason, REASON_WORDS),
        (ReturnStatus, RETURN_STATUS_WORDS),
        (PaymentStatus, PAYMENT_STATUS_WORDS),
        (Channel, CHANNEL_WORDS),
        (FulfillmentType, FULFILLMENT_TYPE_WORDS),
    ],
)
def test_every_code_in_the_domain_has_words_in_both_languages(
    enum: type[OrderStatus], table: dict[str, tuple[str, str]]
) -> None:
    for member in enum:
        es, en = table[member.value]
        assert es and en and es.strip() == es and en.strip() == en
        # No raw code leaks through as the "word".
        assert member.value not in (es, en) or member.value in ("web", "app")


def test_reasons_read_as_words_and_no_reason_as_nothing() -> None:
    assert reason_word(StatusReason.PAYMENT_DECLINED, ES) == "La tarjeta fue rechazada"
    assert reason_word("out_of_stock", EN) == "Not enough stock"
    assert reason_word(None, ES) == ""


def test_a_rejection_for_lack_of_stock_names_each_product_that_ran_out_once() -> None:
    # Probe 224: "Not enough stock" alone, for a two-line order short of one product.
    mug = line("MUG-WHT", 1)
    placed = paid(line("TSHIRT-BLK-M", 2), mug, line("CAP-RED", 1), mug)
    placed.reject(StatusReason.OUT_OF_STOCK, NOW, "x", None, ["MUG-WHT", "CAP-RED"])
    assert placed.out_of_stock_names() == ["Mug-Wht", "Cap-Red"]
    assert order_reason_words(placed, ES) == "Sin existencias suficientes de Mug-Wht y Cap-Red"
    assert Wording(EN).order_reason(placed) == "Not enough stock of Mug-Wht and Cap-Red"
    # Nothing known short (stock spread too thin): the reason's bare words.
    bare = paid(line("MUG-WHT", 1))
    bare.reject(StatusReason.OUT_OF_STOCK, NOW, "x")
    assert order_reason_words(bare, EN) == "Not enough stock"


def test_a_collected_pickup_reads_collected_and_a_lost_parcel_says_so() -> None:
    assert fulfillment_status_word("DELIVERED", ES, FulfillmentType.PICKUP) == "Recogido"
    assert fulfillment_status_word("DELIVERED", EN, "pickup") == "Collected"
    assert fulfillment_status_word("DELIVERED", EN, "ship") == "Delivered"
    assert fulfillment_status_word(FulfillmentStatus.LOST, ES) == "Perdido por el transportista"


def test_an_unknown_code_is_shown_as_it_is_rather_than_failing_the_page() -> None:
    assert status_word("ON_HOLD", ES) == "ON_HOLD"
    assert sla_status_word("breached", EN) == "Late"
    assert action_word("pay", ES) == "Pagar de nuevo"


@pytest.mark.parametrize(
    ("amount", "es", "en"),
    [
        ("12.50", f"12,50{NBSP}€", "€12.50"),
        ("59", f"59,00{NBSP}€", "€59.00"),
        ("1234.5", f"1.234,50{NBSP}€", "€1,234.50"),
        ("0", f"0,00{NBSP}€", "€0.00"),
    ],
)
def test_money_is_written_the_customer_s_way(amount: str, es: str, en: str) -> None:
    assert format_money(Money.of(amount), ES) == es
    assert format_money(Decimal(amount), EN) == en


def test_money_keeps_its_own_currency() -> None:
    assert format_money(Money.of("10", "USD"), EN) == "US$10.00"
    assert format_money("10", ES, "GBP") == f"10,00{NBSP}GBP"


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("en", EN),
        ("en-GB", EN),
        ("EN_us", EN),
        ("es", ES),
        ("es-ES", ES),
        ("ca", ES),
        ("", ES),
        (None, ES),
    ],
)
def test_the_order_s_locale_chooses_the_language_spanish_by_default(
    locale: str | None, language: Language
) -> None:
    assert language_of(locale) is language


@pytest.mark.parametrize(
    ("postal_code", "country", "zone"),
    [
        ("35001", "ES", CANARY),  # Las Palmas de Gran Canaria
        ("38003", "ES", CANARY),  # Santa Cruz de Tenerife
        (" 38400 ", "es", CANARY),
        ("28013", "ES", MADRID),
        ("07001", "ES", MADRID),  # the Balearic Islands keep peninsular time
        ("51001", "ES", MADRID),  # Ceuta
        ("3500", "ES", MADRID),  # not a postal code
        # Portugal's two clocks (a probe: a Lisbon customer read Madrid's times).
        ("35001", "PT", ZoneInfo("Europe/Lisbon")),  # not a Spanish one
        ("1100-048", "PT", ZoneInfo("Europe/Lisbon")),
        ("9000-018", "pt", ZoneInfo("Europe/Lisbon")),  # Madeira keeps Lisbon's
        ("9500-150", "PT", ZoneInfo("Atlantic/Azores")),  # Ponta Delgada
        ("9500150", "PT", ZoneInfo("Atlantic/Azores")),  # probe 202: without its dash
        ("9500 150", "PT", ZoneInfo("Atlantic/Azores")),
        (None, "PT", ZoneInfo("Europe/Lisbon")),
        (None, "ES", MADRID),
        ("38003", None, CANARY),
        # Abroad (probe 185: a New York customer read Madrid's times): a country's one
        # clock, or Madrid's where its regions keep different clocks.
        ("75001", "FR", ZoneInfo("Europe/Paris")),
        ("SW1A 1AA", "gb", ZoneInfo("Europe/London")),
        ("78266", "DE", ZoneInfo("Europe/Berlin")),
        ("100-0001", "JP", ZoneInfo("Asia/Tokyo")),
        ("10001", "US", MADRID),
        ("00000", "ZZ", MADRID),
    ],
)
def test_the_destination_s_postal_code_chooses_its_time_zone(
    postal_code: str | None, country: str | None, zone: object
) -> None:
    assert zone_of(postal_code, country) == zone


@pytest.mark.parametrize(
    ("country", "postal_code", "es", "en"),
    [
        ("PT", "1100-048", "23 nov 2026, 19:00", "23 Nov 2026, 19:00"),
        ("PT", "9500-150", "23 nov 2026, 18:00", "23 Nov 2026, 18:00"),
        ("FR", "75001", "23 nov 2026, 20:00", "23 Nov 2026, 20:00"),
        # Where the destination's clock is not known, Madrid's, named.
        (
            "US",
            "10001",
            "23 nov 2026, 20:00 hora de España (Madrid)",
            "23 Nov 2026, 20:00 Spain (Madrid) Time",
        ),
    ],
)
def test_a_customer_abroad_reads_their_own_clock_or_one_that_says_whose(
    country: str, postal_code: str, es: str, en: str
) -> None:
    spanish = Wording.for_customer("es", postal_code, country)
    english = Wording.for_customer("en", postal_code, country)

    assert (spanish.when(WINTER_EVENING), english.when(WINTER_EVENING)) == (es, en)
    assert spanish.time(WINTER_EVENING) == es.partition(", ")[2]
    (step,) = english.timeline([("SHIPPED", WINTER_EVENING, None)])
    assert step.when == en


def test_dates_and_times_are_local_to_the_minute_in_each_language() -> None:
    assert format_when(WINTER_EVENING, ES, MADRID) == "23 nov 2026, 20:00"
    assert format_when(WINTER_EVENING, ES, CANARY) == "23 nov 2026, 19:00"
    assert format_when(WINTER_EVENING, EN, MADRID) == "23 Nov 2026, 20:00"
    assert format_when(SUMMER_MORNING, ES, CANARY) == "1 jul 2026, 9:05"
    assert format_when(SUMMER_MORNING, EN, MADRID) == "1 Jul 2026, 10:05"


def test_days_dates_and_times_alone() -> None:
    assert format_day(WINTER_EVENING, ES) == "lun, 23 nov"
    assert format_day(WINTER_EVENING, EN) == "Mon 23 Nov"
    assert format_date(WINTER_EVENING, ES) == "23 nov 2026"
    assert format_time(WINTER_EVENING, EN, CANARY) == "19:00"


def test_the_local_day_is_the_destination_s_day_not_utc_s() -> None:
    just_before_midnight_utc = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert format_day(just_before_midnight_utc, ES, MADRID) == "mar, 24 nov"
    assert format_day(just_before_midnight_utc, ES, CANARY) == "lun, 23 nov"


def test_a_naive_timestamp_is_read_as_utc() -> None:
    naive = datetime(2026, 11, 23, 19, 0)
    assert format_when(naive, ES) == "23 nov 2026, 20:00"


def test_a_customer_s_wording_binds_language_and_zone() -> None:
    wording = Wording.for_customer("en", "38003")
    assert wording.locale == "en"
    assert wording.status("SHIPPED") == "Shipped"
    assert wording.fulfillment_status("DELIVERED", "pickup") == "Collected"
    assert wording.reason("payment_declined") == "The card was declined"
    assert wording.money(Money.of("59.00")) == "€59.00"
    assert wording.when(WINTER_EVENING) == "23 Nov 2026, 19:00"
    assert wording.date(WINTER_EVENING) == "23 Nov 2026"
    assert wording.day(WINTER_EVENING) == "Mon 23 Nov"
    assert wording.time(WINTER_EVENING) == "19:00"
    assert Wording() == Wording.for_customer(None)
    assert Wording().money("12.5") == f"12,50{NBSP}€"


def test_the_timeline_is_in_words_and_local_times_without_ops_details() -> None:
    history = [
        HistoryEntry(status=OrderStatus.ACCEPTED, at=WINTER_EVENING, detail="placed via web"),
        HistoryEntry(
            status=OrderStatus.REJECTED,
            at=WINTER_EVENING + timedelta(minutes=2),
            detail="every ship line from WH-GETAFE (fewest locations, warehouse first)",
        ),
    ]
    steps = [(entry.status, entry.at, StatusReason.PAYMENT_DECLINED) for entry in history]
    es = customer_timeline(steps, ES, CANARY)
    assert [(e.status, e.label, e.when, e.reason) for e in es] == [
        ("ACCEPTED", "Recibido", "23 nov 2026, 19:00", ""),
        ("REJECTED", "No completado", "23 nov 2026, 19:02", "La tarjeta fue rechazada"),
    ]
    en = Wording.for_customer("en").timeline(
        [(status, at, "payment_declined") for status, at, _ in steps]
    )
    assert [(e.label, e.when, e.reason) for e in en] == [
        ("Received", "23 Nov 2026, 20:00", ""),
        ("Not completed", "23 Nov 2026, 20:02", "The card was declined"),
    ]
    dumped = str([e.model_dump(mode="json") for e in es + en])
    assert "WH-GETAFE" not in dumped and "placed via" not in dumped


def test_the_carrier_events_a_parcel_s_page_tells_have_words_in_both_languages() -> None:
    # Every event type a carrier may send is either told on the page, in both languages
    # with its moment, or said by the parcel's status alone.
    kinds = typing.get_args(CarrierEventRequest.model_fields["type"].annotation)
    told = {kind for kind in kinds if carrier_event_word(kind, Language.ES, "x") is not None}
    assert told == set(CARRIER_EVENT_WORDS) == {"exception", "out_for_delivery"}
    for kind in told:
        es, en = (carrier_event_word(kind, lang, "6 dic 2026, 18:13") for lang in Language)
        assert es and en and es != en
        assert "6 dic 2026, 18:13" in es and "6 dic 2026, 18:13" in en
    assert carrier_event_word("in_transit", Language.EN, "x") is None


@pytest.mark.parametrize(
    ("country", "postal_code", "named"),
    [
        ("ES", "28013", False),
        ("PT", "1100-048", True),
        ("ES", "35001", True),
        ("US", "10001", True),
    ],
)
def test_a_store_s_clock_is_named_where_the_customer_s_is_another(
    country: str, postal_code: str, named: bool
) -> None:
    # Probe 202: a Lisbon customer read a Madrid pick-up's deadline as if on their clock.
    at_the_store = Wording.for_customer("es", postal_code, country).at("28013")

    shown = at_the_store.when(WINTER_EVENING)

    assert shown.startswith("23 nov 2026, 20:00")
    assert shown.endswith("hora de España (Madrid)") is named


def test_a_product_short_only_at_its_pick_up_store_is_said_to_be_short_there() -> None:
    # Probe 232: a pick-up short at Valencia, with 250 on the web, read "not enough stock
    # of the belt", as if it were sold out everywhere.
    at_store = paid(pickup("MUG-WHT", 1))
    at_store.reject(StatusReason.OUT_OF_STOCK, NOW, "x", None, ["MUG-WHT"], {})
    both = paid(line("CAP-RED", 1), pickup("MUG-WHT", 1))
    both.reject(StatusReason.OUT_OF_STOCK, NOW, "x", None, ["CAP-RED", "MUG-WHT"], {"CAP-RED": 1})
    web_lacks_it_too = paid(pickup("MUG-WHT", 1))
    web_lacks_it_too.reject(StatusReason.OUT_OF_STOCK, NOW, "x", None, ["MUG-WHT"], {"MUG-WHT": 1})

    assert order_reason_words(at_store, ES) == (
        "Sin existencias suficientes de Mug-Wht en la tienda de recogida"
    )
    assert order_reason_words(at_store, EN) == "Not enough stock of Mug-Wht at the pick-up store"
    assert order_reason_words(both, ES) == (
        "Sin existencias suficientes de Cap-Red, ni de Mug-Wht en la tienda de recogida"
    )
    assert order_reason_words(both, EN) == (
        "Not enough stock of Cap-Red, nor of Mug-Wht at the pick-up store"
    )
    assert order_reason_words(web_lacks_it_too, ES) == "Sin existencias suficientes de Mug-Wht"
