"""Returns: units of a delivered order the customer sends back, received at a location
and refunded."""

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import model_validator

from chalicelib.domain.catalog import Location, LocationType
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import Conflict, ConflictingFields, NotFound
from chalicelib.domain.money import Money

# What one order holds of returns: they are stored in its item, which DynamoDB bounds at
# 400 KB; the rest of that room is for the order itself, and for receiving and refunding
# the returns it holds. 20 returns with 500-character reasons of any script fit in it.
# What receiving a return adds for where its units came from (``taken``) is counted in it
# from the request on (``taken_bytes``): at most an entry per fulfilment and SKU.
MAX_RETURNS = 20
RETURNS_BYTES = 120_000
# What one entry of a received return's ``taken`` holds in JSON besides its fulfilment's id
# and SKU: the field names, the quotes and a quantity (``{"fulfillment_id":"","sku":"",
# "quantity":999},`` is 46 bytes).
TAKEN_ENTRY_BYTES = 48


class ReturnStatus(StrEnum):
    """A return's progress."""

    REQUESTED = "REQUESTED"
    RECEIVED = "RECEIVED"


class ReturnLine(DeferredModel):
    """Units of a SKU the customer sends back."""

    sku: str
    quantity: int


class TakenUnits(DeferredModel):
    """Units of a SKU a received return is taken to have brought back from one fulfilment
    (``line_values.units_taken``): what it was refunded for, and what is no longer out."""

    fulfillment_id: str
    sku: str
    quantity: int


class OrderReturn(DeferredModel):
    """A customer's return of some or all lines."""

    return_id: str
    status: ReturnStatus = ReturnStatus.REQUESTED
    lines: list[ReturnLine]
    reason: str
    channel: str
    # Where the goods are: the location named when the return was asked for, then the one
    # that received them (what a store's till and the customer's page show).
    location_id: str | None = None
    # The location named when it was asked for, kept once another received the goods: a
    # customer may name one store and walk into another (a probe: the named one was lost,
    # and with it that store's read of the order).
    requested_location_id: str | None = None
    requested_at: datetime
    received_at: datetime | None = None
    refund: Money | None = None
    # Which fulfilments its units are taken to have come from, fixed when it was received:
    # later refunds and RETURNED statuses follow it. Internal, never shown. None on a
    # return received before it was kept: its units are the first that reached the
    # customer, in fulfilment order (domain/line_values.py).
    taken: list[TakenUnits] | None = None

    @model_validator(mode="before")
    @classmethod
    def _named_before_it_was_kept(cls, data: Any) -> Any:
        """A return stored before the named location was kept apart: while asked for, its
        ``location_id`` is the one named; once received, which one was named is unknown."""
        if isinstance(data, dict) and "requested_location_id" not in data:
            asked = data.get("status", ReturnStatus.REQUESTED) == ReturnStatus.REQUESTED
            return {**data, "requested_location_id": data.get("location_id") if asked else None}
        return data

    @property
    def for_any_store(self) -> bool:
        """To be taken to a store: whichever store the customer walks into receives it,
        the one named when it was asked for or another (any order may be returned through
        any channel; the return's id, which the customer holds, is what they show)."""
        return self.channel == "store"

    def receive(
        self, location_id: str, at: datetime, refund: Money, taken: list[TakenUnits]
    ) -> None:
        """The goods arrived at ``location_id``: they are the units ``taken``, and
        ``refund`` is what they cost."""
        if self.status is ReturnStatus.RECEIVED:
            raise Conflict(f"return {self.return_id} was already received", field="return_id")
        self.status = ReturnStatus.RECEIVED
        self.received_at = at
        self.location_id = location_id
        self.refund = refund
        self.taken = taken


def check_return_location(channel: str, location: Location) -> None:
    """A return in store is taken at a store: a warehouse takes no customers (409 naming
    ``location_id``, as a pick-up line at a warehouse is)."""
    if channel == "store" and location.type is not LocationType.STORE:
        raise ConflictingFields(
            [("location_id", f"{location.location_id} is not a store that takes returns")]
        )


def mail_return_destination(
    returned: OrderReturn, shipped_from: Sequence[str], locations: Sequence[Location]
) -> Location | None:
    """Where a return by post is sent: the location named when it was asked for; else the
    one the order's first parcel left from (it holds that stock); else the first warehouse
    (an order only picked up). ``None`` for a return taken to a store, or once received."""
    if returned.for_any_store or returned.status is not ReturnStatus.REQUESTED:
        return None
    return post_destination(returned.requested_location_id, shipped_from, locations)


def post_destination(
    named: str | None, shipped_from: Sequence[str], locations: Sequence[Location]
) -> Location | None:
    """Where goods sent back by post go: ``named``, else where the order's first parcel
    left from, else the first warehouse; None when no location is known."""
    by_id = {location.location_id: location for location in locations}
    for location_id in (named, *shipped_from):
        if location_id is not None and location_id in by_id:
            return by_id[location_id]
    return next((loc for loc in locations if loc.type is LocationType.WAREHOUSE), None)


def taken_bytes(lines: Sequence[ReturnLine], carriers: Mapping[str, Sequence[str]]) -> int:
    """The most bytes receiving ``lines`` adds to their return for where its units came
    from (``OrderReturn.taken``): one entry per fulfilment ``carriers`` names for a SKU
    (the ids of those that delivered it), and no more entries than units."""
    units: dict[str, int] = {}
    for line in lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    most = 0
    for sku, count in units.items():
        longest = sorted((len(fid.encode()) for fid in carriers.get(sku, ())), reverse=True)
        most += sum(size + len(sku.encode()) + TAKEN_ENTRY_BYTES for size in longest[:count])
    return most


def returnable(kept: dict[str, int], returns: list[OrderReturn]) -> dict[str, int]:
    """Units per SKU kept by the customer and not yet asked back."""
    left = dict(kept)
    for ret in returns:
        for rline in ret.lines:
            left[rline.sku] = left.get(rline.sku, 0) - rline.quantity
    return left


def check_on_order(lines: list[ReturnLine], ordered: AbstractSet[str]) -> None:
    """Refuse lines for SKUs the order never had (``ordered``): 404 naming the line, as a
    SKU unknown to the catalogue is on an order (API.md part two: a request the schema
    accepts is refused only for what it cannot know, an unknown id 404), whatever the
    order's state, told before any refusal the state makes (409)."""
    for index, rline in enumerate(lines):
        if rline.sku not in ordered:
            raise NotFound(f"{rline.sku} is not on this order", field=f"lines.{index}.sku")


def check_returnable(lines: list[ReturnLine], left: dict[str, int]) -> None:
    """Refuse more units than can still come back (the order's state, 409)."""
    left = dict(left)
    for index, rline in enumerate(lines):
        if rline.sku not in left:
            raise Conflict(f"none of {rline.sku} can be returned", field=f"lines.{index}.sku")
        if rline.quantity > left[rline.sku]:
            raise Conflict(
                f"only {left[rline.sku]} of {rline.sku} can still be returned",
                field=f"lines.{index}.quantity",
            )
        left[rline.sku] -= rline.quantity


def received_back(returns: Sequence[OrderReturn]) -> dict[str, int]:
    """Units per SKU of the returns received so far."""
    received: dict[str, int] = {}
    for ret in returns:
        if ret.status is ReturnStatus.RECEIVED:
            for rline in ret.lines:
                received[rline.sku] = received.get(rline.sku, 0) + rline.quantity
    return received


def everything_back(kept: dict[str, int], returns: list[OrderReturn]) -> bool:
    """Whether every unit the customer kept has been received back."""
    received = received_back(returns)
    return all(received.get(sku, 0) >= qty for sku, qty in kept.items())


def open_return(
    return_id: str,
    lines: list[ReturnLine],
    reason: str,
    channel: str,
    location_id: str | None,
    at: datetime,
    window_ends: datetime | None,
    left: dict[str, int],
) -> OrderReturn:
    """A return of ``lines`` (SKUs on the order: ``check_on_order``) asked for at ``at``:
    refused once the window has closed, or for more units than are ``left`` to return."""
    if window_ends is not None and at > window_ends:
        raise Conflict("the return window of this order has closed", field="status")
    check_returnable(lines, left)
    return OrderReturn(
        return_id=return_id,
        lines=lines,
        reason=reason,
        channel=channel,
        location_id=location_id,
        requested_location_id=location_id,
        requested_at=at,
    )
