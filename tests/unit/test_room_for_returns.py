"""An order holds at most ``MAX_RETURNS`` returns, and ``RETURNS_BYTES`` of them: they live
in its item, whose size is bounded, and the rest of that room is for receiving and
refunding them (probe 201: returns of one unit with long reasons filled the item)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import TypeAdapter

from chalicelib.domain.errors import Conflict
from chalicelib.domain.returns import (
    MAX_RETURNS,
    RETURNS_BYTES,
    OrderReturn,
    ReturnLine,
    TakenUnits,
    taken_bytes,
)
from tests.support.builders import NOW, WAREHOUSE, delivered, line

ONE = [ReturnLine(sku="SOCKS-3P", quantity=1)]
LONGEST_REASON = "\U0001f600" * 500


def test_an_order_takes_its_most_returns_then_names_the_lines() -> None:
    placed = delivered(line("SOCKS-3P", MAX_RETURNS + 5))
    for index in range(MAX_RETURNS):
        placed.request_return(f"ret_{index}", ONE, LONGEST_REASON, "mail", None, NOW)

    with pytest.raises(Conflict) as refused:
        placed.request_return("ret_more", ONE, "size", "mail", None, NOW)

    assert refused.value.field == "lines"
    assert len(placed.returns) == MAX_RETURNS


def test_returns_that_hold_their_room_already_refuse_another_however_few() -> None:
    # Returns kept before the limits (reasons of any length) may fill the room first.
    placed = delivered(line("SOCKS-3P", 10))
    long_ago = OrderReturn(
        return_id="ret_old",
        lines=ONE,
        reason="x" * (RETURNS_BYTES // 2),
        channel="mail",
        requested_at=NOW - timedelta(hours=1),
    )
    placed.returns = [long_ago, long_ago.model_copy(update={"return_id": "ret_old2"})]

    with pytest.raises(Conflict) as refused:
        placed.request_return("ret_new", ONE, "size", "mail", None, NOW)

    assert refused.value.field == "lines"
    placed.returns = placed.returns[:1]
    placed.request_return("ret_new", ONE, "size", "mail", None, NOW)


def test_what_receiving_a_return_adds_is_counted_from_its_request() -> None:
    """A received return keeps which fulfilments its units came from (``taken``), in the
    order's item: the room a return is asked with counts the most that adds, so returns
    that fill the room leave none for it to grow past it."""
    placed = delivered(line("SOCKS-3P", 5))
    (parcel,) = placed.fulfillments
    lines = [ReturnLine(sku="SOCKS-3P", quantity=2)]
    most = taken_bytes(lines, {"SOCKS-3P": [parcel.fulfillment_id]})
    opened = placed.request_return("ret_1", lines, "size", "mail", None, NOW)
    held = len(opened.model_dump_json().encode())
    # Room for exactly one more such return, were what receipts add left out.
    filler = OrderReturn(
        return_id="ret_0",
        lines=ONE,
        reason="",
        channel="mail",
        requested_at=NOW - timedelta(hours=1),
    )
    asked = len(b"size") + len(b"SOCKS-3P") + 32 + len(b"ret_2")
    room = RETURNS_BYTES - held - asked - len(filler.model_dump_json().encode())
    placed.returns.append(filler.model_copy(update={"reason": "x" * room}))

    with pytest.raises(Conflict) as refused:
        placed.request_return("ret_2", lines, "size", "mail", None, NOW)

    assert "holds as many returns as it can" in refused.value.detail

    received = placed.receive_return("ret_1", WAREHOUSE, NOW)
    assert received.taken is not None
    kept = len(TypeAdapter(list[TakenUnits]).dump_json(received.taken)) - len(b"null")
    assert 0 < kept <= most
