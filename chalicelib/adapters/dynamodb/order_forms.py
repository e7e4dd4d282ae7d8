"""The order's items as stored: shorter than its model's JSON, read back exactly.

Every write of the state item bills ``ceil(size / 1 KB)`` units (twice in a
transaction), and after the order ships its JSON passes 1 KB: the payment's operations
repeat the order's id in their keys, the history its field names, the reservation its
reason. ``compact`` (when written) stores, still as plain attributes the console shows:

- each history entry as one string ``<STATUS> <at> <detail>``, e.g.
  ``SHIPPED 2026-12-01T03:21:56.981941Z shipped with rapido, tracking RAP4582932879``;
- a fulfillment's id without the order's id it starts with (``-F1`` for
  ``<order>-F1``), and a payment operation's key ``<order>:<cause>:<type>`` as
  ``<cause>:<type>`` (the cause shortened the same way: ``-F1:capture``,
  ``shipping:capture``), its ``type`` left out (the key's last part);
- an amount in the default currency as its text (``"39.90"``), where the model's JSON
  is ``{"amount": "39.90"}``;
- ``sourcing_reason`` left out when it is the detail of the last RESERVED entry, and
  stored as null when it is unset while there is one.

The details item (``compact_details``, ``expand_details``): amounts in the default
currency as their text (the lines' prices and totals, the order's total), the
execution's ARN without the order's id it ends with (the execution is named after the
order: ``arn:...:execution:orquesta-prod-order:``), the consent's ``accepted_at`` left
out when it is ``placed_at``. A two-line web order is then one write unit to place
(1,060-1,075 B before).

``expand`` (when read) undoes it, and leaves the model's JSON as it is: states stored
before this form (a history of maps, operations with their ``type``), and the older
one-item documents, read as they did. What is not in the form ``compact`` expects is
stored as the model dumps it. Ids of fulfillments start with their order's id
(``domain/fulfillments.py``), never with ``-``."""

from __future__ import annotations

from typing import Any

_RESERVED = "RESERVED"
_SOURCING_REASON = "sourcing_reason"
_AMOUNTS = ("authorized", "captured", "refunded", "voided")
_ENTRY_FIELDS = ("status", "at", "detail")
_OPERATION_FIELDS = ("key", "amount", "status", "recorded_at", "done_at")
_OWED = "owed"
_LINE_FIELDS = ("quantity", "sku")
_EVENT_FIELDS = ("type", "occurred_at", "event_id")
_LINE_AMOUNTS = ("unit_price", "line_total", "charged", "discount")
_EXECUTION_ARN = "execution_arn"


def compact(order_id: str, state: dict[str, Any]) -> dict[str, Any]:
    """The state's attributes (the model's JSON) in their stored form."""
    stored = dict(state)
    if "history" in state:
        stored["history"] = [_entry_text(entry) for entry in state["history"]]
        reason = _reserved_detail(stored["history"])
        if reason is not None:
            if state.get(_SOURCING_REASON) == reason:
                del stored[_SOURCING_REASON]
            elif _SOURCING_REASON not in state:
                stored[_SOURCING_REASON] = None
    if "payment" in state:
        stored["payment"] = _compact_payment(order_id, state["payment"])
    if "fulfillments" in state:
        stored["fulfillments"] = [
            _compact_fulfillment(order_id, fulfillment) for fulfillment in state["fulfillments"]
        ]
    return stored


def expand(order_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    """The state's attributes as the model's JSON, from either form."""
    state = dict(stored)
    if "history" in stored:
        state["history"] = [_entry_of(entry) for entry in stored["history"]]
        if _SOURCING_REASON not in stored:
            reason = _reserved_detail(stored["history"])
            if reason is not None:
                state[_SOURCING_REASON] = reason
    if "payment" in stored:
        state["payment"] = _expand_payment(order_id, stored["payment"])
    if "fulfillments" in stored:
        state["fulfillments"] = [
            _expand_fulfillment(order_id, fulfillment) for fulfillment in stored["fulfillments"]
        ]
    return state


def compact_details(order_id: str, details: dict[str, Any]) -> dict[str, Any]:
    """The details' attributes (the model's JSON) in their stored form."""
    stored = dict(details)
    if "total" in stored:
        stored["total"] = _amount_text(stored["total"])
    if isinstance(stored.get("lines"), list):
        stored["lines"] = [_compact_line_amounts(line) for line in stored["lines"]]
    arn = stored.get(_EXECUTION_ARN)
    if isinstance(arn, str) and arn.endswith(f":{order_id}"):
        stored[_EXECUTION_ARN] = arn.removesuffix(order_id)
    consent = stored.get("consent")
    placed_at = stored.get("placed_at")
    if isinstance(consent, dict) and placed_at and consent.get("accepted_at") == placed_at:
        stored["consent"] = {
            name: value for name, value in consent.items() if name != "accepted_at"
        }
    return stored


def expand_details(order_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    """The details' attributes as the model's JSON, from either form."""
    details = dict(stored)
    if "total" in details:
        details["total"] = _amount_of(details["total"])
    if isinstance(details.get("lines"), list):
        details["lines"] = [_expand_line_amounts(line) for line in details["lines"]]
    arn = details.get(_EXECUTION_ARN)
    if isinstance(arn, str) and arn.endswith(":"):
        details[_EXECUTION_ARN] = f"{arn}{order_id}"
    consent = details.get("consent")
    if isinstance(consent, dict) and "accepted_at" not in consent and details.get("placed_at"):
        details["consent"] = consent | {"accepted_at": details["placed_at"]}
    return details


def _compact_line_amounts(line: Any) -> Any:
    if not isinstance(line, dict):
        return line
    return line | {name: _amount_text(line[name]) for name in _LINE_AMOUNTS if name in line}


def _expand_line_amounts(line: Any) -> Any:
    if not isinstance(line, dict):
        return line
    return line | {name: _amount_of(line[name]) for name in _LINE_AMOUNTS if name in line}


# History -----------------------------------------------------------------------------------
def _entry_text(entry: Any) -> Any:
    if not isinstance(entry, dict) or set(entry) != set(_ENTRY_FIELDS):
        return entry
    status, at, detail = (entry[name] for name in _ENTRY_FIELDS)
    if not all(isinstance(value, str) for value in (status, at, detail)):
        return entry
    if " " in status or " " in at:
        return entry
    return f"{status} {at} {detail}"


def _entry_of(entry: Any) -> Any:
    if not isinstance(entry, str):
        return entry
    return dict(zip(_ENTRY_FIELDS, entry.split(" ", 2), strict=True))


def _reserved_detail(stored_history: list[Any]) -> str | None:
    """The detail of the last RESERVED entry, when that entry is stored as a string
    (written by ``compact``: a history of maps was stored before the form and its
    ``sourcing_reason`` as it was)."""
    for entry in reversed(stored_history):
        if isinstance(entry, str) and entry.startswith(f"{_RESERVED} "):
            return str(_entry_of(entry)["detail"])
        if isinstance(entry, dict) and entry.get("status") == _RESERVED:
            return None
    return None


# Payment -----------------------------------------------------------------------------------
def _compact_payment(order_id: str, payment: dict[str, Any]) -> dict[str, Any]:
    stored = dict(payment)
    for name in _AMOUNTS:
        if name in stored:
            stored[name] = _amount_text(stored[name])
    if "operations" in stored:
        stored["operations"] = [
            _compact_operation(order_id, operation) for operation in stored["operations"]
        ]
    return stored


def _expand_payment(order_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    payment = dict(stored)
    for name in _AMOUNTS:
        if name in payment:
            payment[name] = _amount_of(payment[name])
    if "operations" in payment:
        payment["operations"] = [
            _expand_operation(order_id, operation) for operation in payment["operations"]
        ]
    return payment


def _compact_operation(order_id: str, operation: dict[str, Any]) -> Any:
    stored = dict(operation)
    if "amount" in stored:
        stored["amount"] = _amount_text(stored["amount"])
    short = _short_key(order_id, operation.get("key"), operation.get("type"))
    if short is None:
        return stored
    stored["key"] = short
    del stored["type"]
    return _operation_text(stored)


def _operation_text(stored: dict[str, Any]) -> Any:
    """``<key> <amount> <status> <recorded_at>[ <done_at>]`` for an operation with
    nothing else to tell (attempts, an error, an alert); the map otherwise."""
    fields = {"status": _OWED} | stored  # left out at its default
    if not set(_OPERATION_FIELDS[:4]) <= set(fields) <= set(_OPERATION_FIELDS):
        return stored
    values = [fields[name] for name in _OPERATION_FIELDS if name in fields]
    if not all(isinstance(value, str) and value and " " not in value for value in values):
        return stored
    return " ".join(values)


def _expand_operation(order_id: str, stored: Any) -> dict[str, Any]:
    if isinstance(stored, str):
        stored = dict(zip(_OPERATION_FIELDS, stored.split(" "), strict=False))
    operation = dict(stored)
    if "amount" in operation:
        operation["amount"] = _amount_of(operation["amount"])
    if "type" not in operation and isinstance(operation.get("key"), str):
        short = str(operation["key"])
        operation["type"] = short.rsplit(":", 1)[-1]
        cause = _full_id(order_id, short)
        operation["key"] = f"{order_id}:{cause}"
    return operation


def _short_key(order_id: str, key: Any, kind: Any) -> str | None:
    """``<cause>:<type>`` for a key ``<order>:<cause>:<type>`` (its cause shortened as an
    id), or None when the key is not of that form."""
    prefix = f"{order_id}:"
    if not isinstance(key, str) or not isinstance(kind, str):
        return None
    if not key.startswith(prefix) or not key.endswith(f":{kind}") or ":" in kind:
        return None
    return _short_id(order_id, key.removeprefix(prefix))


# Fulfillments ------------------------------------------------------------------------------
def _compact_fulfillment(order_id: str, fulfillment: dict[str, Any]) -> dict[str, Any]:
    stored = dict(fulfillment)
    short = _short_id(order_id, fulfillment.get("fulfillment_id"))
    if short is not None:
        stored["fulfillment_id"] = short
    if isinstance(stored.get("lines"), list):
        stored["lines"] = [_line_text(line) for line in stored["lines"]]
    shipment = stored.get("shipment")
    if isinstance(shipment, dict) and isinstance(shipment.get("events"), list):
        events = [_event_text(event) for event in shipment["events"]]
        stored["shipment"] = shipment | {"events": events}
    return stored


def _expand_fulfillment(order_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    fulfillment = dict(stored)
    fulfillment_id = stored.get("fulfillment_id")
    if isinstance(fulfillment_id, str):
        fulfillment["fulfillment_id"] = _full_id(order_id, fulfillment_id)
    if isinstance(stored.get("lines"), list):
        fulfillment["lines"] = [_line_of(line) for line in stored["lines"]]
    shipment = stored.get("shipment")
    if isinstance(shipment, dict) and isinstance(shipment.get("events"), list):
        events = [_event_of(event) for event in shipment["events"]]
        fulfillment["shipment"] = shipment | {"events": events}
    return fulfillment


def _line_text(line: Any) -> Any:
    """``<quantity> <sku>`` (``1 TSHIRT-BLK-M``)."""
    if not isinstance(line, dict) or set(line) != set(_LINE_FIELDS):
        return line
    quantity, sku = line["quantity"], line["sku"]
    if type(quantity) is not int or not isinstance(sku, str):
        return line
    return f"{quantity} {sku}"


def _line_of(stored: Any) -> Any:
    if not isinstance(stored, str):
        return stored
    quantity, sku = stored.split(" ", 1)
    return {"quantity": int(quantity), "sku": sku}


def _event_text(event: Any) -> Any:
    """A carrier's event as ``<type> <occurred_at> <event_id>``."""
    if not isinstance(event, dict) or set(event) != set(_EVENT_FIELDS):
        return event
    kind, occurred_at, event_id = (event[name] for name in _EVENT_FIELDS)
    if not all(isinstance(value, str) for value in (kind, occurred_at, event_id)):
        return event
    if not kind or not occurred_at or " " in kind or " " in occurred_at:
        return event
    return f"{kind} {occurred_at} {event_id}"


def _event_of(stored: Any) -> Any:
    if not isinstance(stored, str):
        return stored
    return dict(zip(_EVENT_FIELDS, stored.split(" ", 2), strict=True))


# Ids and amounts ---------------------------------------------------------------------------
def _short_id(order_id: str, value: Any) -> str | None:
    """An id (or the start of a key) without the order's id it starts with: ``-F1`` for
    ``<order>-F1``; itself when it does not start so; None when it cannot be told apart
    from a shortened one (it starts with ``-``)."""
    if not isinstance(value, str):
        return None
    if value.startswith(f"{order_id}-"):
        return value.removeprefix(order_id)
    return None if value.startswith("-") else value


def _full_id(order_id: str, stored: str) -> str:
    return f"{order_id}{stored}" if stored.startswith("-") else stored


def _amount_text(money: Any) -> Any:
    if isinstance(money, dict) and set(money) == {"amount"} and isinstance(money["amount"], str):
        return money["amount"]
    return money


def _amount_of(stored: Any) -> Any:
    return {"amount": stored} if isinstance(stored, str) else stored
