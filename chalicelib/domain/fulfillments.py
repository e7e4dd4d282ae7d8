"""Fulfillments: the lines that leave one location together (shipped, with the carrier's
booking) or wait together in one store (picked up)."""

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import Conflict
from chalicelib.domain.inventory import Allocation
from chalicelib.domain.money import Money
from chalicelib.domain.status_reasons import StatusReason


class FulfillmentType(StrEnum):
    """Shipped to the customer or collected in a store."""

    SHIP = "ship"
    PICKUP = "pickup"


class FulfillmentStatus(StrEnum):
    """One fulfillment's progress."""

    PENDING = "PENDING"
    SHIPPED = "SHIPPED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    DELIVERED = "DELIVERED"
    RETURNED = "RETURNED"
    CANCELLED = "CANCELLED"
    # Shipped and never confirmed, 30 days past the promise: not kept, its capture refunded.
    LOST = "LOST"


class SlaStatus(StrEnum):
    """A shipment against its carrier's promise."""

    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    LATE = "late"


FULFILLMENT_RANK = {
    "PENDING": 0,
    "SHIPPED": 1,
    "READY_FOR_PICKUP": 1,
    "DELIVERED": 2,
    "RETURNED": 3,
}


# Fulfillments that ended without reaching the customer: they no longer move the order.
CLOSED_UNDELIVERED = frozenset({FulfillmentStatus.CANCELLED, FulfillmentStatus.LOST})
# Goods that left (or reached) the customer's hands: no longer cancellable, their share
# is captured.
HANDED_OVER = frozenset(
    {
        FulfillmentStatus.SHIPPED,
        FulfillmentStatus.DELIVERED,
        FulfillmentStatus.RETURNED,
        FulfillmentStatus.LOST,
    }
)
# Reached the customer (delivered or collected; returns are counted by unit).
REACHED = frozenset({FulfillmentStatus.DELIVERED, FulfillmentStatus.RETURNED})
# Held at a location for the customer: what a cancel releases.
HELD = frozenset({FulfillmentStatus.PENDING, FulfillmentStatus.READY_FOR_PICKUP})


# The carrier's events a parcel keeps. They live in the order's item, which DynamoDB
# holds to 400 KB: a probe's 900 events for one parcel filled it, and its delivery could
# no longer be written. Real parcels report a handful.
MAX_PARCEL_EVENTS = 30


# Ids of forgotten events kept per parcel, as 12-hex digests (2.6 KB at most).
MAX_FORGOTTEN_IDS = 200


def _digest(event_id: str) -> str:
    return hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _last_of(events: list[dict[str, str]], kind: str) -> int | None:
    found = [i for i, event in enumerate(events) if event.get("type") == kind]
    return found[-1] if found else None


def _first_of(events: list[dict[str, str]], kind: str) -> int | None:
    return next((i for i, event in enumerate(events) if event.get("type") == kind), None)


# How far ahead of ours a carrier's clock is taken as only ahead (``delivered_as_reported``).
CARRIER_CLOCK_AHEAD = timedelta(minutes=5)


class Shipment(DeferredModel):
    """A carrier's booking for one fulfillment."""

    carrier: str
    service_level: str
    tracking_number: str
    tracking_url: str
    promised_by: datetime
    shipped_at: datetime
    # The quote's promise, kept only where the SLA clock (``promised_by``) runs to another
    # moment: the local stack divides every wait by ORQUESTA_TIME_SCALE, and the shopper
    # must still read the promise they were quoted (API.md: each shipment's SLA promise is
    # the quote's). Never set on AWS, where the two are the same moment.
    quoted_promise: datetime | None = None
    # When the SLA breaks if the carrier has not confirmed the delivery: the promise plus
    # the grace we give the carrier (API.md: "past its promise plus the 72 h grace, the
    # shipment's SLA is breached"), scaled like the promise. Absent on a parcel shipped
    # before the grace was kept here: it broke at its promise.
    breach_due: datetime | None = None
    delivered_at: datetime | None = None
    sla_status: SlaStatus = SlaStatus.ON_TIME
    breached_at: datetime | None = None
    # Declared lost: the carrier never confirmed it (a delivery reported later stays LOST).
    lost_at: datetime | None = None
    # Set with the breach: when the parcel is declared lost if still unconfirmed. The
    # scheduled check finds it by it, should the execution waiting for it have been stopped.
    lost_by: datetime | None = None
    events: list[dict[str, str]] = Field(default_factory=list)
    # Digests of the ids of events forgotten past ``MAX_PARCEL_EVENTS``, the newest
    # ``MAX_FORGOTTEN_IDS``: a carrier's retry of one is still a duplicate (re-probe 202:
    # an old scan sent again was applied again).
    forgotten: list[str] = Field(default_factory=list)

    def record_event(self, event: dict[str, str]) -> None:
        """Keep a carrier's event (its id answers the carrier's retries as duplicates).
        Past ``MAX_PARCEL_EVENTS`` the oldest is forgotten, its id kept as a digest, but
        never the parcel's last problem (its alerts and ticket are settled by it) nor its
        first delivery (what the page, the timeline and a retry of it go by: probe 200's
        scans after a delivery pushed it out, and the page said "out for delivery")."""
        self.events.append(event)
        while len(self.events) > MAX_PARCEL_EVENTS:
            kept = {_last_of(self.events, "exception"), _first_of(self.events, "delivered")}
            gone = self.events.pop(next(i for i in range(len(self.events)) if i not in kept))
            self.forgotten = [*self.forgotten, _digest(gone.get("event_id", ""))][
                -MAX_FORGOTTEN_IDS:
            ]

    def recorded(self, event_id: str) -> dict[str, str] | None:
        """The event the parcel keeps under ``event_id``, if it keeps one."""
        return next((event for event in self.events if event.get("event_id") == event_id), None)

    def has_seen(self, event_id: str) -> bool:
        """Whether the carrier sent ``event_id`` for this parcel before: among its events,
        or among the ids forgotten past them."""
        return self.recorded(event_id) is not None or _digest(event_id) in self.forgotten

    def delivered_as_reported(self) -> datetime | None:
        """When the carrier said the parcel was delivered, on its own clock: what it
        reported where that was held to the hand-over or our now (``event_moment``), to
        compare with the moments it gives its other events (probe 217: a carrier two
        seconds ahead of us had its delivery recorded at our now, and a problem it dated
        before the delivery, sent after it, read as after it)."""
        if self.delivered_at is None:
            return None
        delivery = next((e for e in self.events if e.get("type") == "delivered"), None)
        reported = delivery.get("reported_at") if delivery else None
        if not reported:
            return self.delivered_at
        try:
            said = datetime.fromisoformat(str(reported))
        except ValueError:
            return self.delivered_at
        if said.tzinfo is None or said > self.delivered_at + CARRIER_CLOCK_AHEAD:
            # A clock further ahead is wrong, not early: on its word, every problem the
            # carrier reports until that date would read as before the delivery and alert
            # nobody (probe 222: a delivery dated 300 days ahead).
            return self.delivered_at
        return said

    def recorded_before_delivery(self, event_id: str) -> bool:
        """Whether the parcel's events hold ``event_id`` before its delivery: written
        first, whatever moment the carrier gave both."""
        ids = [event.get("event_id") for event in self.events]
        delivered = _first_of(self.events, "delivered")
        return delivered is not None and event_id in ids and ids.index(event_id) < delivered

    def last_event(self) -> dict[str, str] | None:
        """What the carrier last reported, in the carrier's own order of events (a retry
        may arrive late; of one moment, the last to arrive); once the parcel is
        delivered, its delivery, which nothing the carrier says after it undoes (re-probes
        188 and 189: an "out for delivery" retried or dated after the delivery read as
        the parcel's last news). The delivery is the first one told, as recorded: another
        "delivered" under a new id changes nothing (probe 234: it read as the delivery's
        moment, later than the one the return window counts from)."""
        if not self.events:
            return None
        delivered = [e for e in self.events if e.get("type") == "delivered"]
        if self.delivered_at is not None and delivered:
            return delivered[0]
        return max(
            enumerate(self.events),
            key=lambda pair: (datetime.fromisoformat(pair[1]["occurred_at"]), pair[0]),
        )[1]

    @property
    def breaks_at(self) -> datetime:
        """When the SLA is breached if the parcel is still unconfirmed."""
        return self.breach_due or self.promised_by

    @property
    def shown_promise(self) -> datetime:
        """The promise shown to the shopper and to integrators."""
        return self.quoted_promise or self.promised_by

    @property
    def shown_grace_end(self) -> datetime:
        """When the grace after the promise ends, on the shown promise's clock: where the
        estimate the late parcel's apology gives starts from (sent then, it must not name
        a day already past)."""
        return self.shown_promise + (self.breaks_at - self.promised_by)

    def event_moment(self, reported: datetime, now: datetime, floor: datetime) -> datetime:
        """The moment recorded for a carrier's event on this parcel: what the carrier
        reported, held between ``floor`` (the hand-over, or a later change of the order)
        and ``now``. A carrier's clock can be wrong, but a parcel is not delivered before it
        left nor in the future; the return window and the SLA are read from this moment."""
        earliest = max(self.shipped_at, floor)
        return min(max(reported, earliest), max(now, earliest))

    def record_delivery(self, at: datetime, told_late: bool = False) -> None:
        """The parcel reached the customer at ``at``: the promise was met if that is by the
        promise, whether or not a breach was recorded before the carrier told us (a probe:
        the same delivery told half a second either side of the breach step was ``met`` or
        ``late``). ``told_late``: the carrier told us only after the grace we wait for it;
        the date it gives is kept but does not make the parcel on time (a carrier must not
        backdate a parcel we chased into its on-time figures)."""
        self.delivered_at = at
        late = at > self.promised_by or told_late
        self.sla_status = SlaStatus.LATE if late else SlaStatus.MET

    def sla(self, now: datetime | None = None) -> dict[str, str | None]:
        """The SLA block of the API. While the parcel is out, the status is read against
        ``now``: ``at_risk`` in the last fifth of the promised time and through the grace
        after a missed promise, ``breached`` once the grace is over (even before the
        workflow has recorded the breach)."""
        status = self.sla_status
        # A breach recorded before the carrier told us of a delivery on time did not
        # happen: the promise was kept (the ops timeline still shows when it was recorded).
        breached_at = None if status is SlaStatus.MET else self.breached_at
        # Delivered past the grace before the breach step ran: the SLA broke when the grace
        # ran out, as this block read while the parcel was out already said (a probe saw the
        # moment go back to none). Delivered within the grace, it never broke.
        delivered_past_grace = self.delivered_at is not None and self.delivered_at > self.breaks_at
        if status is SlaStatus.LATE and breached_at is None and delivered_past_grace:
            breached_at = self.breaks_at
        if now is not None and self.delivered_at is None and status is SlaStatus.ON_TIME:
            if now > self.breaks_at:
                status, breached_at = SlaStatus.BREACHED, self.breaks_at
            elif now > self.promised_by - (self.promised_by - self.shipped_at) / 5:
                status = SlaStatus.AT_RISK
        return {
            "promised_by": self.shown_promise.isoformat(),
            "status": status,
            "breached_at": breached_at.isoformat() if breached_at else None,
        }


SLA_RANK = {
    SlaStatus.MET: 0,
    SlaStatus.ON_TIME: 1,
    SlaStatus.AT_RISK: 2,
    SlaStatus.LATE: 3,
    SlaStatus.BREACHED: 4,
}


def sla_severity(block: Mapping[str, str | None]) -> tuple[int, bool]:
    """How bad a shipment's SLA block is, for the order's own (the worst of its
    shipments'): by status, and among two late parcels, one whose SLA was breached before
    it arrived is worse than one delivered within the grace (a probe: the order read late
    with no breach while one of its parcels had been breached)."""
    return SLA_RANK[SlaStatus(str(block["status"]))], block["breached_at"] is not None


class FulfillmentLine(DeferredModel):
    """Units of a SKU that one fulfillment carries."""

    sku: str
    quantity: int


class Fulfillment(DeferredModel):
    """The lines that leave one location together, or wait together in one store."""

    fulfillment_id: str
    type: FulfillmentType
    location_id: str
    status: FulfillmentStatus = FulfillmentStatus.PENDING
    lines: list[FulfillmentLine]
    shipment: Shipment | None = None
    pickup_code: str | None = None
    pickup_deadline: datetime | None = None
    # When it became ready: a retried dispatch announces it again under the same moment,
    # which keys the customer's email record (one email however often it is announced).
    ready_at: datetime | None = None
    # When the store next opens, if it was shut when the pick-up became ready (else none:
    # it can be collected from ``ready_at``).
    collect_from: datetime | None = None
    # When it was cancelled before its hand-over: the same use, for the step run again
    # that announces the cancellation (a pick-up not collected, a compensation).
    cancelled_at: datetime | None = None
    status_reason: StatusReason | None = None
    # What was given back for this fulfillment when it was lost (recorded once).
    refunded: Money | None = None
    # The execution's wait for this fulfillment; internal, never in the API.
    task_token: str | None = None

    def parcel_out(self) -> bool:
        """With its carrier, not delivered, and its promise not yet broken: a shipment the
        SLA check must watch (its record is in the open-shipments index)."""
        shipment = self.shipment
        return (
            self.status is FulfillmentStatus.SHIPPED
            and shipment is not None
            and shipment.delivered_at is None
            and shipment.breached_at is None
        )

    def watch_due(self) -> datetime | None:
        """When the scheduled SLA check must look at this parcel (its record is in the
        open-shipments index until then): the end of its grace while it is out and
        unbroken, then, breached and still unconfirmed, the moment it is to be declared
        lost; declared lost, until its refund is recorded (the customer and ops are told
        with it)."""
        shipment = self.shipment
        if self.parcel_out():
            assert shipment is not None
            return shipment.breaks_at
        if shipment is None or shipment.delivered_at is not None or shipment.lost_by is None:
            return None
        unconfirmed = self.status is FulfillmentStatus.SHIPPED
        untold = self.status is FulfillmentStatus.LOST and self.refunded is None
        return shipment.lost_by if unconfirmed or untold else None

    def hand_to_carrier(self, shipment: Shipment) -> bool:
        """The carrier took the parcel; False if this fulfillment had left already."""
        if self.status is not FulfillmentStatus.PENDING:
            return False
        self.shipment = shipment
        self.status = FulfillmentStatus.SHIPPED
        return True

    def wait_in_store(
        self,
        pickup_code: str,
        deadline: datetime,
        at: datetime,
        collect_from: datetime | None = None,
    ) -> bool:
        """The goods wait at the store for the customer's code until ``deadline``, from
        ``at`` (collected from ``collect_from`` when later: the store opens then); False if
        this fulfillment had moved on already."""
        if self.status is not FulfillmentStatus.PENDING:
            return False
        self.status = FulfillmentStatus.READY_FOR_PICKUP
        self.pickup_code = pickup_code
        self.pickup_deadline = deadline
        self.ready_at = at
        self.collect_from = collect_from if collect_from and collect_from > at else None
        return True

    def reach_customer(self, at: datetime, told_late: bool = False) -> str:
        """Delivered by the carrier or collected in store; what the history says of it.
        ``told_late``: see ``Shipment.record_delivery``."""
        if self.status not in (FulfillmentStatus.SHIPPED, FulfillmentStatus.READY_FOR_PICKUP):
            raise Conflict(
                f"fulfillment {self.fulfillment_id} is {self.status}", field="fulfillment_id"
            )
        self.status = FulfillmentStatus.DELIVERED
        if self.shipment is None:
            return f"collected at {self.location_id}"
        self.shipment.record_delivery(at, told_late)
        return f"delivered by {self.shipment.carrier}"

    def declare_lost(self, at: datetime) -> Shipment:
        """A shipped parcel the carrier never confirmed is LOST; its shipment."""
        if self.status is not FulfillmentStatus.SHIPPED or self.shipment is None:
            raise Conflict(
                f"fulfillment {self.fulfillment_id} is {self.status}", field="fulfillment_id"
            )
        self.status = FulfillmentStatus.LOST
        self.shipment.lost_at = at
        return self.shipment

    def delivered_after_loss(self, at: datetime) -> bool:
        """The carrier reports a parcel delivered after it was declared LOST (and refunded):
        the delivery is recorded on the shipment, the fulfillment stays LOST (no status goes
        back), and ops must settle it with the customer. True the first time."""
        shipment = self.shipment
        if self.status is not FulfillmentStatus.LOST or shipment is None:
            return False
        if shipment.delivered_at is not None:
            return False
        shipment.delivered_at = at
        shipment.sla_status = SlaStatus.LATE
        return True

    def cancel(self, reason: StatusReason, at: datetime) -> list[Allocation]:
        """Cancel a fulfillment still held at its location, at ``at``; the units to
        release."""
        if self.status not in HELD:
            raise Conflict(
                f"fulfillment {self.fulfillment_id} is {self.status}", field="fulfillment_id"
            )
        self.status = FulfillmentStatus.CANCELLED
        self.status_reason = reason
        self.cancelled_at = at
        return self.allocations()

    def allocations(self) -> list[Allocation]:
        """This fulfillment's units, at its location."""
        return [
            Allocation(sku=line.sku, location_id=self.location_id, quantity=line.quantity)
            for line in self.lines
        ]


def group_allocations(
    order_id: str, pickup_units: dict[tuple[str, str | None], int], allocations: list[Allocation]
) -> list[Fulfillment]:
    """Group the allocated units into fulfillments: one per pick-up store and one per
    ship-from location (``split_allocations``)."""
    groups = split_allocations(pickup_units, allocations)
    return [
        Fulfillment(
            fulfillment_id=f"{order_id}-F{index}",
            type=kind,
            location_id=location_id,
            lines=[FulfillmentLine(sku=sku, quantity=qty) for sku, qty in sorted(lines.items())],
        )
        for index, ((kind, location_id), lines) in enumerate(sorted(groups.items()), start=1)
    ]


def split_allocations(
    pickup_units: Mapping[tuple[str, str], int] | Mapping[tuple[str, str | None], int],
    allocations: list[Allocation],
) -> dict[tuple[FulfillmentType, str], dict[str, int]]:
    """The allocated units per (fulfillment type, location), SKU by SKU. ``pickup_units``
    are the units to collect per (SKU, store): a store may also ship the same SKU, and
    those units must travel rather than join the pick-up."""
    pickup_left: dict[tuple[str, str | None], int] = dict(pickup_units.items())
    groups: dict[tuple[FulfillmentType, str], dict[str, int]] = {}
    for allocation in allocations:
        key = (allocation.sku, allocation.location_id)
        collected = min(allocation.quantity, pickup_left.get(key, 0))
        if collected:
            pickup_left[key] -= collected
        for kind, quantity in (
            (FulfillmentType.PICKUP, collected),
            (FulfillmentType.SHIP, allocation.quantity - collected),
        ):
            if quantity:
                lines = groups.setdefault((kind, allocation.location_id), {})
                lines[allocation.sku] = lines.get(allocation.sku, 0) + quantity
    return groups
