"""What each unit of an order is worth to the customer, so that the money captured at
hand-over, voided for what never leaves and refunded for what comes back always adds up
to what the order was charged, to the cent.

A line's value is what the customer pays for it all in (``OrderLine.charged``): its
price, less its share of the discount, plus its own tax when the tax is added on top
(IGIC, IPSI). The rest of the total, the shipping fee with its tax on top, is the order's
``extra`` (domain/settlement.py). A line's value is spread over its units in whole cents,
the odd cents to its first units (10.00 over 3 units is 3.34, 3.33, 3.33), so that the
units of a line always add up to the line.

Which units a fulfilment or a return takes is fixed by the order's own state: a line's
units go to its fulfilments in the order they are listed. A return, when it is received,
takes the units of its SKUs it most likely brought back, among those that reached the
customer and no return received before took: first from the fulfilments at the location
that receives it (a pick-up at that store, a parcel that left from where the post brings
it back), then from those of the type its channel sends back (by post a parcel, to a
store a pick-up), then the rest, each in fulfilment order; within a fulfilment, its next
units (the same SKU at two prices, a Madrid pick-up with VAT in and a Canary parcel with
IGIC on top, is refunded at the price of the unit that came back). Which fulfilments it
took from is kept on the return (``OrderReturn.taken``): later refunds and RETURNED
statuses follow it. Returns received before it was kept took, together, the first units
of their SKUs in fulfilment order. Each amount is computed once, from the stored order,
and kept (a return's ``refund``); the parts of a line therefore never add up to more or
less than the line, nor a fulfilment's refunds to more than was captured for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from chalicelib.domain.fulfillments import REACHED, Fulfillment, FulfillmentLine, FulfillmentType
from chalicelib.domain.money import CENT, Money
from chalicelib.domain.placement import OrderLine
from chalicelib.domain.returns import (
    OrderReturn,
    ReturnLine,
    ReturnStatus,
    TakenUnits,
    received_back,
)


def unit_values(line: OrderLine) -> list[Decimal]:
    """The line's value spread over its units in whole cents, odd cents first."""
    charged = line.charged if line.charged is not None else line.line_total
    cents = int((charged.amount / CENT).to_integral_value())
    base, odd = divmod(cents, line.quantity)
    return [(base + (1 if unit < odd else 0)) * CENT for unit in range(line.quantity)]


def _carries(fulfillment: Fulfillment, line: OrderLine) -> bool:
    """Whether the fulfilment is where this line's units go: a pick-up at the line's
    store, or a shipment for a line that ships."""
    if fulfillment.type is FulfillmentType.PICKUP:
        return line.location_id == fulfillment.location_id
    return line.location_id is None


def fulfillment_values(
    lines: Sequence[OrderLine], fulfillments: Sequence[Fulfillment], currency: str
) -> dict[str, Money]:
    """Each fulfilment's value: the units of its lines, taken in turn from the order lines
    they belong to."""
    taken = [0] * len(lines)
    units = [unit_values(line) for line in lines]
    values: dict[str, Money] = {}
    for fulfillment in fulfillments:
        value = Decimal(0)
        for fline in fulfillment.lines:
            value += _take(fline, fulfillment, lines, units, taken)
        values[fulfillment.fulfillment_id] = Money.of(value, currency)
    return values


def _take(
    fline: FulfillmentLine,
    fulfillment: Fulfillment,
    lines: Sequence[OrderLine],
    units: list[list[Decimal]],
    taken: list[int],
) -> Decimal:
    value = Decimal(0)
    wanted = fline.quantity
    for index, line in enumerate(lines):
        if wanted == 0:
            break
        if line.sku != fline.sku or not _carries(fulfillment, line):
            continue
        count = min(wanted, line.quantity - taken[index])
        value += sum(units[index][taken[index] : taken[index] + count], Decimal(0))
        taken[index] += count
        wanted -= count
    return value


# The fulfilment type a return's channel most likely sends back: a parcel comes back by
# post, a pick-up is taken back to a store.
_CHANNEL_TYPES = {"mail": FulfillmentType.SHIP, "store": FulfillmentType.PICKUP}

# Units of a SKU in one fulfilment: ``(fulfillment_id, sku)``.
Part = tuple[str, str]


def _reached_units(fulfillments: Sequence[Fulfillment]) -> dict[Part, int]:
    """Units per SKU of each fulfilment that reached the customer, in fulfilment order."""
    reached: dict[Part, int] = {}
    for fulfillment in fulfillments:
        if fulfillment.status not in REACHED:
            continue
        for fline in fulfillment.lines:
            part = (fulfillment.fulfillment_id, fline.sku)
            reached[part] = reached.get(part, 0) + fline.quantity
    return reached


def _taken_so_far(
    fulfillments: Sequence[Fulfillment], returns: Sequence[OrderReturn]
) -> dict[Part, int]:
    """Units per SKU of each fulfilment that the returns received so far took. A return
    received before assignments were kept has none: such returns took, together, the
    first units of their SKUs in fulfilment order, as they were refunded, and before any
    return with an assignment (all were received before the first of those)."""
    reached = _reached_units(fulfillments)
    taken: dict[Part, int] = {}
    unassigned = received_back([r for r in returns if r.taken is None])
    for (fulfillment_id, sku), quantity in reached.items():
        count = min(quantity, unassigned.get(sku, 0))
        if count:
            taken[(fulfillment_id, sku)] = count
            unassigned[sku] -= count
    for ret in returns:
        if ret.status is ReturnStatus.RECEIVED and ret.taken is not None:
            for units in ret.taken:
                part = (units.fulfillment_id, units.sku)
                taken[part] = taken.get(part, 0) + units.quantity
    return taken


def units_taken(
    fulfillments: Sequence[Fulfillment],
    returns: Sequence[OrderReturn],
    returning: Sequence[ReturnLine],
    location_id: str,
    channel: str,
) -> list[TakenUnits]:
    """The fulfilments the ``returning`` units most likely came from, among the units that
    reached the customer and that no return received so far took: for each SKU, first
    those of fulfilments at ``location_id`` (a pick-up at the store that receives them, a
    parcel that left from where a return by post is sent), then those of the type the
    return's ``channel`` sends back, then the rest, each in fulfilment order."""
    reached = _reached_units(fulfillments)
    taken = _taken_so_far(fulfillments, returns)
    wanted_type = _CHANNEL_TYPES.get(channel)
    ranked = sorted(
        (f for f in fulfillments if f.status in REACHED),
        key=lambda f: (f.location_id != location_id, f.type is not wanted_type),
    )  # sorted() is stable: ties keep fulfilment order
    chosen: dict[Part, int] = {}
    for rline in returning:
        wanted = rline.quantity
        for fulfillment in ranked:
            if wanted == 0:
                break
            part = (fulfillment.fulfillment_id, rline.sku)
            free = reached.get(part, 0) - taken.get(part, 0) - chosen.get(part, 0)
            count = min(wanted, free)
            if count > 0:
                chosen[part] = chosen.get(part, 0) + count
                wanted -= count
    return [
        TakenUnits(fulfillment_id=fulfillment_id, sku=sku, quantity=quantity)
        for (fulfillment_id, sku), quantity in chosen.items()
    ]


def returned_value(
    lines: Sequence[OrderLine],
    fulfillments: Sequence[Fulfillment],
    returns: Sequence[OrderReturn],
    taken: Sequence[TakenUnits],
    currency: str,
) -> Money:
    """What the units ``taken`` (``units_taken``) are worth: in each fulfilment, the next
    of its units after those the returns received so far took (its units in order, a
    line's odd cents on its first units, as captures took them)."""
    values: dict[Part, list[Decimal]] = {}
    used = [0] * len(lines)
    units = [unit_values(line) for line in lines]
    for fulfillment in fulfillments:
        # Every fulfilment takes its units, as captures took them (``fulfillment_values``);
        # only those that reached the customer can come back. Skipping a lost parcel's
        # would value what was delivered as the lost units (a probe: a cent too much, so
        # the refund was refused for good).
        reached = fulfillment.status in REACHED
        for fline in fulfillment.lines:
            before = list(used)
            _take(fline, fulfillment, lines, units, used)
            if not reached:
                continue
            its_units = values.setdefault((fulfillment.fulfillment_id, fline.sku), [])
            for index in range(len(lines)):
                its_units.extend(units[index][before[index] : used[index]])
    back = _taken_so_far(fulfillments, returns)
    value = Decimal(0)
    for piece in taken:
        part = (piece.fulfillment_id, piece.sku)
        start = back.get(part, 0)
        value += sum(values.get(part, [])[start : start + piece.quantity], Decimal(0))
        back[part] = start + piece.quantity
    return Money.of(value, currency)


def cost_nothing(
    lines: Sequence[OrderLine], fulfillments: Sequence[Fulfillment], returning: Sequence[ReturnLine]
) -> bool:
    """Whether every unit of the ``returning`` SKUs that reached the customer was charged
    nothing (a 100 % coupon): their return can give nothing back, wherever it arrives."""
    skus = {rline.sku for rline in returning}
    used = [0] * len(lines)
    units = [unit_values(line) for line in lines]
    for fulfillment in fulfillments:
        for fline in fulfillment.lines:
            value = _take(fline, fulfillment, lines, units, used)
            if fline.sku in skus and fulfillment.status in REACHED and value > 0:
                return False
    return True


def fulfillments_back(
    fulfillments: Sequence[Fulfillment], returns: Sequence[OrderReturn]
) -> set[str]:
    """The fulfilments that reached the customer and whose every unit the returns received
    so far took (``units_taken``, as refunds count them)."""
    taken = _taken_so_far(fulfillments, returns)
    left: dict[str, int] = {}
    for (fulfillment_id, sku), quantity in _reached_units(fulfillments).items():
        left[fulfillment_id] = left.get(fulfillment_id, 0) + max(
            0, quantity - taken.get((fulfillment_id, sku), 0)
        )
    return {fulfillment_id for fulfillment_id, units in left.items() if units == 0}
