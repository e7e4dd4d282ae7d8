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
units go to its fulfilments in the order they are listed, and a return takes the next
units of its SKU after those already received back, among the units that reached the
customer. Each amount is computed once, from the stored order, and kept (a return's
``refund``); the parts of a line therefore never add up to more or less than the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from chalicelib.domain.fulfillments import REACHED, Fulfillment, FulfillmentLine, FulfillmentType
from chalicelib.domain.money import CENT, Money
from chalicelib.domain.placement import OrderLine
from chalicelib.domain.returns import OrderReturn, ReturnLine, received_back


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


def returned_value(
    lines: Sequence[OrderLine],
    fulfillments: Sequence[Fulfillment],
    returns: Sequence[OrderReturn],
    returning: Sequence[ReturnLine],
    currency: str,
) -> Money:
    """What ``returning`` units are worth: for each SKU, the next units that reached the
    customer (delivered fulfilments, in order) after those of the returns already
    received and refunded."""
    pool: dict[str, list[Decimal]] = {}
    taken = [0] * len(lines)
    units = [unit_values(line) for line in lines]
    for fulfillment in fulfillments:
        # Every fulfilment takes its units, as captures took them (``fulfillment_values``);
        # only those that reached the customer can come back. Skipping a lost parcel's
        # would value what was delivered as the lost units (a probe: a cent too much, so
        # the refund was refused for good).
        reached = fulfillment.status in REACHED
        for fline in fulfillment.lines:
            before = list(taken)
            _take(fline, fulfillment, lines, units, taken)
            if not reached:
                continue
            for index in range(len(lines)):
                pool.setdefault(fline.sku, []).extend(units[index][before[index] : taken[index]])
    back = received_back(returns)
    value = Decimal(0)
    for rline in returning:
        start = back.get(rline.sku, 0)
        value += sum(pool.get(rline.sku, [])[start : start + rline.quantity], Decimal(0))
        back[rline.sku] = start + rline.quantity
    return Money.of(value, currency)


def fulfillments_back(
    fulfillments: Sequence[Fulfillment], returns: Sequence[OrderReturn]
) -> set[str]:
    """The fulfilments that reached the customer and whose every unit is back, counted as
    refunds count them (``returned_value``): for each SKU, the units received back are the
    first ones that reached the customer, in fulfilment order."""
    back = received_back(returns)
    reached: dict[str, int] = {}
    done: set[str] = set()
    for fulfillment in fulfillments:
        if fulfillment.status not in REACHED:
            continue
        for fline in fulfillment.lines:
            reached[fline.sku] = reached.get(fline.sku, 0) + fline.quantity
        if all(back.get(fline.sku, 0) >= reached[fline.sku] for fline in fulfillment.lines):
            done.add(fulfillment.fulfillment_id)
    return done
