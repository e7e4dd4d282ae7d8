"""The order as two readable items of its partition, and the update that writes only
what changed.

- the details item (``keys.order``): what is fixed when the order is placed (contact,
  lines, total, address, payment token, consent, pricing, channel, client, customer,
  receipt code, return window, the execution's ARN). Only rare paths change it (an
  erasure or a customer merge rewrites the contact and customer, paying again the token
  and the execution, a redemption given back the pricing's flag), each in the same
  transaction as the state item;
- the state item (``keys.order_state``): ``status``, ``version`` and everything the
  lifecycle moves (payment, fulfillments, returns, history, tokens, retries, attention).
  A status change appends its entry to ``history`` here: that is the order's event item.
  It is created by the order's first change: a new order is one item, its details with
  the state it was placed in (``placed_state``, kept there as written and ignored once
  the state item exists), as a transaction would bill two items twice over. That state
  holds nothing personal (an order is placed without returns, whose reasons erasure
  redacts; the contact and address are details).

Values are plain DynamoDB attributes, as the models dump in JSON mode (money and times as
strings, counts as numbers), so the console shows them. What equals its model default
is left out (a null, an empty list, ``EUR``) and read back as that default: a placed
one-line web order is one item under 1 KB (two lines, 1.1 KB). The state is stored in
the shorter form of ``order_forms`` (history entries and settled operations as one
line each, ids without the order's id): it stays under 1 KB until the order is
delivered (1.1-1.2 KB after, with the bench's short task tokens). So the defaults of the order's
models are part of the stored format: change one only together with the orders stored
under it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.order_forms import (
    compact,
    compact_details,
    expand,
    expand_details,
)
from chalicelib.domain.orders import Order

# Fields fixed at placement; the rest (but ``order_id``, the partition's) is the state.
DETAIL_FIELDS = frozenset(
    {
        "channel",
        "store_id",
        "client_id",
        "customer_id",
        "customer_unvouched",
        "contact",
        "contact_owned_by",
        "lines",
        "total",
        "shipping_address",
        "payment_token",
        "consent",
        "placed_at",
        "receipt_code",
        "request_digest",
        "return_window_seconds",
        "execution_arn",
        "pricing",
    }
)
VERSION = "version"
PLACED_STATE = "placed_state"
# The payment's mark that the order is listed among those owing money. Stored only for an
# order listed as an item before the index (``orders._list_if_owed``); the index's keys on
# the state say it otherwise.
LISTED_AS_OWED = "listed_as_owed"
_OWED_LISTING = (keys.OWED_SHARD, keys.OWED_SINCE)
# Never left out, even at its default: what someone reading the table looks for first.
_ALWAYS = ("status",)


@dataclass(frozen=True)
class StoredOrder:
    """What an order's items hold: its details and state as stored (without keys and
    version), the version, whether the state item exists yet (until the first change the
    state is the one placed with the details), and whether the order is still in an older
    form (one item holding a document, ``order_document``), which its next save rewrites
    as two items."""

    details: dict[str, Any]
    state: dict[str, Any]
    version: int
    state_item: bool = True
    older_form: bool = False


def values_of(order: Order) -> tuple[dict[str, Any], dict[str, Any]]:
    """The order's details and state as item attributes (without keys and version)."""
    dumped = order.model_dump(mode="json", exclude_defaults=True, exclude={"order_id", VERSION})
    full = order.model_dump(mode="json", include=set(_ALWAYS))
    dumped |= full
    details = {name: value for name, value in dumped.items() if name in DETAIL_FIELDS}
    state = {name: value for name, value in dumped.items() if name not in DETAIL_FIELDS}
    if "payment" in state:
        state["payment"].pop(LISTED_AS_OWED, None)
    return compact_details(order.order_id, details), compact(order.order_id, state)


def order_of(order_id: str, stored: StoredOrder) -> Order:
    """The order its items hold."""
    order = Order.model_validate(
        expand_details(order_id, stored.details)
        | expand(order_id, without(stored.state, _OWED_LISTING))
        | {"order_id": order_id, VERSION: stored.version}
    )
    if keys.OWED_SHARD in stored.state:
        order.payment.listed_as_owed = True
    return order


def without(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """An item's attributes but ``names`` (its keys, its version)."""
    return {name: value for name, value in values.items() if name not in names}


@dataclass
class Update:
    """An UpdateItem's expression, names and values."""

    expression: str
    names: dict[str, str]
    values: dict[str, Any]


def update_of(
    before: dict[str, Any], after: dict[str, Any], also: dict[str, Any] | None = None
) -> Update | None:
    """The update that turns the attributes ``before`` into ``after``: SET what changed,
    REMOVE what went back to its default, a list that only grew gets its new entries
    appended (``list_append``: the history, the retries); ``also`` is SET as given. None
    when nothing changes."""
    sets: list[str] = []
    removes: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    changed = {
        name: value for name, value in after.items() if name not in before or before[name] != value
    }
    for index, (name, value) in enumerate((changed | (also or {})).items()):
        names[f"#a{index}"] = name
        old = before.get(name)
        if name not in (also or {}) and isinstance(old, list) and _grew(old, value):
            values[f":a{index}"] = value[len(old) :]
            sets.append(f"#a{index} = list_append(#a{index}, :a{index})")
        else:
            values[f":a{index}"] = value
            sets.append(f"#a{index} = :a{index}")
    for index, name in enumerate(sorted(set(before) - set(after))):
        names[f"#r{index}"] = name
        removes.append(f"#r{index}")
    if not sets and not removes:
        return None
    expression = " ".join(
        part
        for part in (
            f"SET {', '.join(sets)}" if sets else "",
            f"REMOVE {', '.join(removes)}" if removes else "",
        )
        if part
    )
    return Update(expression, names, values)


def _grew(old: list[Any], new: Any) -> bool:
    return isinstance(new, list) and 0 < len(old) < len(new) and new[: len(old)] == old
