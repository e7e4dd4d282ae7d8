"""Once-only markers: webhook event ids, emails sent, with a TTL."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import ConditionFailed, Table


class MarkerRepository:
    """Records that something was done, so that it is done once."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def remember_once(self, key: str, ttl_seconds: int) -> bool:
        """Record ``key``; True the first time, False if it was already there."""
        moment = time.time()
        now = int(moment)
        write = self._table.put(
            # ``set_at`` to the microsecond: ``forget_set_before`` keeps a marker set since.
            keys.marker(key)
            | {"expires_at": now + ttl_seconds, "set_at": Decimal(f"{moment:.6f}")},
            # An expired marker that TTL has not swept yet counts as gone.
            "attribute_not_exists(pk) OR expires_at < :now",
            {":now": now},
        )
        try:
            self._table.write(write)
        except ConditionFailed:
            return False
        return True

    def has_marker(self, key: str) -> bool:
        """Whether a once-only marker is set."""
        return self._table.get(keys.marker(key), consistent=False) is not None

    def markers_held(self, names: list[str]) -> set[str]:
        """Which of these once-only markers are set, read together (one request)."""
        by_pk = {keys.marker(name)["pk"]: name for name in names}
        items = self._table.get_many([keys.marker(name) for name in names], consistent=False)
        return {by_pk[str(item["pk"])] for item in items}

    def forget(self, key: str) -> None:
        """Drop a once-only marker (when the work it guarded failed and must be redone)."""
        self._table.write(self._table.delete(keys.marker(key)))

    def forget_set_before(self, key: str, moment: datetime) -> bool:
        """Drop the marker if it was set no later than ``moment`` (one written before markers
        kept their time counts as set before); one set since stays. True if dropped."""
        delete = self._table.delete(
            keys.marker(key),
            "attribute_exists(pk) AND (attribute_not_exists(set_at) OR set_at <= :moment)",
            {":moment": Decimal(f"{moment.timestamp():.6f}")},
        )
        try:
            self._table.write(delete)
        except ConditionFailed:
            return False
        return True
