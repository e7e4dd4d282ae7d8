"""What AWS bills for a DynamoDB write, from the items before and after it.

DynamoDB write units follow AWS's on-demand billing rules:

- PutItem, UpdateItem, DeleteItem: ``ceil(size / 1 KB)`` units, at least 1, where size is
  the larger of the item before and after the write (AWS bills the larger of the two);
  a write refused by its condition is billed too, on the same size.
- TransactWriteItems: twice that, for every item in the transaction (a cancelled
  transaction is counted the same way).
- Item size as AWS documents it: attribute name bytes plus value bytes; strings in
  UTF-8; numbers 1 byte per two significant digits plus 1; booleans and nulls 1 byte;
  lists and maps 3 bytes plus 1 byte per element plus their elements.
- Global secondary indexes bill their own writes, on top of the table's (AWS, "Provisioned
  throughput considerations for Global Secondary Indexes", Amazon DynamoDB Developer
  Guide, docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes):
  an item that comes to carry an index's key attributes is one put into the index,
  ``ceil(projected size / 1 KB)`` units; one that stops carrying them is one delete, 1 unit;
  a change of the index key is both (delete the old entry, put the new); a change of
  projected attributes only, keys unchanged, is one put; an item in the index neither
  before nor after costs the index nothing. The projected size is the table's key, the
  index's key and the attributes the projection keeps (``ALL``: the whole item). A refused
  or cancelled write changes no index and costs the index nothing; an index write inside a
  transaction is counted once (only the table's items are billed twice). Counted per index
  as ``GSI <index>.<item kind>``.

Read units (not asked for, shown apart): GetItem ``ceil(size / 4 KB)``, Query the sum of
the items returned rounded up to 4 KB; half for eventually consistent reads.
"""

from __future__ import annotations

import base64
import math
from typing import Any


# Item sizes --------------------------------------------------------------------------------
def _typed(value: Any) -> tuple[str, Any]:
    if isinstance(value, dict):
        return next(iter(value.items()))
    return value.type, value.value


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return (max(1, len(digits)) + 1) // 2 + 1


def value_size(value: Any) -> int:
    """Bytes of one attribute value, as AWS counts them."""
    kind, inner = _typed(value)
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(item).encode("utf-8")) for item in inner)
    if kind == "NS":
        return sum(_number_size(str(item)) for item in inner)
    if kind == "BS":
        return sum(len(item) for item in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(item) for item in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(item) for name, item in inner.items())
    return 0


def item_size(attrs: dict[str, Any] | None) -> int:
    """Bytes of an item (``{name: value}``, moto's or DynamoDB JSON)."""
    if not attrs:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in attrs.items())


def attrs_of(item: Any) -> dict[str, Any] | None:
    """A moto item's attributes (None for no item)."""
    return None if item is None else item.attrs


def kind_of(attrs: dict[str, Any] | None) -> str:
    """Which item type of the key design a key or item is (``ORDER``, ``HIST``, ``STOCK``…)."""
    if not attrs or "pk" not in attrs:
        return "?"
    pk = str(_typed(attrs["pk"])[1])
    prefix = pk.split("#", 1)[0]
    if prefix == "ORDER" and "sk" in attrs and str(_typed(attrs["sk"])[1]).startswith("HIST#"):
        return "ORDER HIST"
    return prefix


def units(size: int, unit: int) -> int:
    """Units for ``size`` bytes at ``unit`` bytes a unit, at least 1."""
    return max(1, math.ceil(size / unit))


# Global secondary indexes ------------------------------------------------------------------
def snapshot_attrs(item: Any) -> dict[str, Any] | None:
    """An item's attributes as DynamoDB JSON, copied (moto updates its items in place)."""
    attrs = item.attrs if hasattr(item, "attrs") else item
    if attrs is None:
        return None
    return {
        name: value.to_json() if hasattr(value, "to_json") else value
        for name, value in attrs.items()
    }


def _projected(index: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    """What an index keeps of an item: every attribute for ``ALL``, else the table's and
    the index's keys and the attributes listed for ``INCLUDE``."""
    projection = (index.projection or {}).get("ProjectionType", "ALL")
    if projection == "ALL":
        return attrs
    kept = set(index.table_key_attrs) | set(index.schema_key_attrs)
    if projection == "INCLUDE":
        kept |= set(index.projection.get("NonKeyAttributes", []))
    return {name: value for name, value in attrs.items() if name in kept}


def index_write_units(
    index: Any, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> float:
    """Write units one table write costs one global secondary index (the rules above)."""
    keys = index.schema_key_attrs

    def entry(attrs: dict[str, Any] | None) -> dict[str, Any] | None:
        if attrs is None or any(name not in attrs for name in keys):
            return None
        return _projected(index, attrs)

    old, new = entry(before), entry(after)
    if old is None and new is None:
        return 0
    if new is None:
        return 1  # the entry is deleted from the index
    put = units(item_size(new), 1024)
    if old is None:
        return put
    if any(old[name] != new[name] for name in keys):
        return 1 + put  # the index key changed: delete the old entry, put the new one
    return put if old != new else 0
