"""Quotes, on the fake and on DynamoDB alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.pricing import PriceLine, ShippingFees, price
from chalicelib.domain.quotes import FulfillmentLine, Quote, QuotedFulfillment, QuotedLine

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _quote(quote_id: str = "qt_1") -> Quote:
    line = PriceLine(sku="A", quantity=2, unit_price=Decimal("19.95"))
    return Quote(
        quote_id=quote_id,
        client_id="shop",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=30),
        channel="web",
        lines=[QuotedLine(sku="A", quantity=2, fulfillment=FulfillmentType.SHIP)],
        postal_code="35001",
        breakdown=price([line], "35001", ShippingFees()),
        fulfillments=[
            QuotedFulfillment(
                type=FulfillmentType.SHIP,
                location_id="WH-GETAFE",
                carrier="veloz",
                lines=[FulfillmentLine(sku="A", quantity=2)],
                promised_by=NOW + timedelta(days=2),
            )
        ],
    )


def test_a_quote_reads_back_as_stored(stores: tuple[Any, Any]) -> None:
    store, _ = stores
    quote = _quote()
    store.put_quote(quote)
    assert store.get_quote("qt_1") == quote
    assert store.get_quote("qt_1").breakdown.tax.name.value == "IGIC"


def test_an_unknown_quote_is_not_found_naming_quote_id(stores: tuple[Any, Any]) -> None:
    store, _ = stores
    with pytest.raises(NotFound) as missing:
        store.get_quote("qt_nope")
    assert missing.value.field == "quote_id"


def test_a_quote_id_is_never_overwritten(stores: tuple[Any, Any]) -> None:
    store, _ = stores
    store.put_quote(_quote())
    other = _quote().model_copy(update={"client_id": "someone-else"})
    with pytest.raises(Conflict):
        store.put_quote(other)
    assert store.get_quote("qt_1").client_id == "shop"
