"""Quotes: one item each, the whole quote as JSON, swept by TTL a day after it expires."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import ConditionFailed, Table
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.quotes import Quote

# Kept a while past expiry, so an order on a just-expired quote is told it expired
# rather than that it never existed.
SWEPT_AFTER_SECONDS = 24 * 3600


class QuoteRepository:
    """``Quotes`` on the table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put_quote(self, quote: Quote) -> None:
        """Store a new quote; ``Conflict`` if its id is taken."""
        item = keys.quote(quote.quote_id) | {
            "doc": quote.model_dump_json(),
            "expires_at": int(quote.expires_at.timestamp()) + SWEPT_AFTER_SECONDS,
        }
        try:
            self._table.write(self._table.put(item, "attribute_not_exists(pk)"))
        except ConditionFailed as exc:
            raise Conflict(f"quote {quote.quote_id} exists", field="quote_id") from exc

    def get_quote(self, quote_id: str) -> Quote:
        """The quote, or ``NotFound``. Read strongly: a kiosk orders on a quote it was given
        a moment ago."""
        item = self._table.get(keys.quote(quote_id))
        if item is None:
            raise NotFound(f"no quote {quote_id}", field="quote_id")
        return Quote.model_validate_json(str(item["doc"]))
