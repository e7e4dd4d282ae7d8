"""Customer-service tickets: complaints, return problems, questions, late deliveries."""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import Conflict


class TicketType(StrEnum):
    """What the ticket is about."""

    COMPLAINT = "complaint"
    RETURN = "return"
    QUESTION = "question"
    LATE_DELIVERY = "late_delivery"
    DELIVERY_PROBLEM = "delivery_problem"


class TicketStatus(StrEnum):
    """Forward only: open → pending → resolved; resolved is final."""

    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"


_RANK = {TicketStatus.OPEN: 0, TicketStatus.PENDING: 1, TicketStatus.RESOLVED: 2}


def can_move(current: TicketStatus, new: TicketStatus) -> bool:
    """Whether a ticket may go from ``current`` to ``new`` (staying put is allowed, except
    once resolved)."""
    if current is TicketStatus.RESOLVED:
        return False
    return _RANK[new] >= _RANK[current]


# Notes the system writes (``system:carrier``, ``system:lost_parcels``...) are for staff.
SYSTEM_WRITER = "system:"
# Our steps, named where they write a ticket's note or resolve an alert.
BY_CARRIER = f"{SYSTEM_WRITER}carrier"  # a carrier's event
BY_LOST_PARCELS = f"{SYSTEM_WRITER}lost_parcels"  # the step that declares parcels lost


class TicketNote(DeferredModel):
    """A note staff added, with who and when."""

    at: datetime
    by: str
    text: str
    # Given in the request that resolved the ticket: the resolution email's message.
    resolution: bool = False


# What one ticket holds of notes, in UTF-8: a ticket is one item, which DynamoDB bounds
# at 400 KB (its description and subject take at most 16 KB).
NOTES_BYTES = 200_000


class Ticket(DeferredModel):
    """A ticket, linked to a customer and optionally to an order, lines and a shipment. A
    ticket about an anonymous store order (a low survey score) has no customer."""

    ticket_id: str
    customer_id: str | None
    type: TicketType
    status: TicketStatus = TicketStatus.OPEN
    subject: str
    description: str
    order_id: str | None = None
    skus: list[str] = Field(default_factory=list)
    shipment: str | None = None
    channel: str
    opened_at: datetime
    resolved_at: datetime | None = None
    notes: list[TicketNote] = Field(default_factory=list)
    # Opened for whoever may not be the record's founder: about no order on a record staff
    # may have found by an identifier not vouched for there, or about an order only such
    # identifiers or a merge brought to it. The record's token does not open it, and no
    # email about it goes to the record's addresses (the order's own address still may).
    customer_unvouched: bool = False
    # The record at whose vouched address the customer was written about the ticket as it
    # opened (None when no such address was to be written to): a merge moving the ticket
    # to a survivor does not change it (``customers.told_before_merge``).
    addressed_on: str | None = None
    version: int = 0

    def update(self, status: TicketStatus | None, note: str | None, by: str, at: datetime) -> bool:
        """Apply a status change and/or a note; True if the ticket became resolved now.
        ``Conflict`` for a step backwards or any change after resolution."""
        if self.status is TicketStatus.RESOLVED:
            # Named after what the request asked to change (a note alone names ``note``).
            raise Conflict(
                f"ticket {self.ticket_id} is resolved; it takes no more changes",
                field="status" if status is not None else "note",
            )
        if status is not None and not can_move(self.status, status):
            raise Conflict(
                f"ticket {self.ticket_id} is {self.status}, cannot become {status}",
                field="status",
            )
        resolved_now = status is TicketStatus.RESOLVED
        if note and self.notes_bytes() + len(note.encode()) > NOTES_BYTES:
            # Stored in the ticket's item, which DynamoDB bounds at 400 KB (probe 201: the
            # 25th long note was a 500, and so was every later one).
            raise Conflict(
                f"ticket {self.ticket_id} holds as many notes as it can; open a new ticket",
                field="note",
            )
        if note:
            self.notes.append(TicketNote(at=at, by=by, text=note, resolution=resolved_now))
        if status is not None:
            self.status = status
        if resolved_now:
            self.resolved_at = at
        return resolved_now

    def notes_bytes(self) -> int:
        """What the notes' texts take, in UTF-8."""
        return sum(len(note.text.encode()) for note in self.notes)

    def notes_for_customer(self) -> list[TicketNote]:
        """The notes the customer may read: what a person wrote them as they resolved the
        ticket (the resolution email's message). Staff's working notes and the system's are
        for staff (a review: a storefront showed the customer every note staff wrote)."""
        return [note for note in self.notes if _written_to_customer(note)]

    def resolved_by_system(self) -> bool:
        """Whether one of our steps resolved it (its resolving note is a system's), not a
        person."""
        last = self.notes[-1] if self.notes else None
        return last is not None and last.resolution and last.by.startswith(SYSTEM_WRITER)

    def resolution_note(self) -> str:
        """What a person wrote for the customer as they resolved the ticket: the note given
        in the resolving request. Notes before it are staff's working notes, and a system's
        (a carrier's delivery on an exception ticket) are written for staff, in English:
        the resolution email carries neither (a probe got both)."""
        last = self.notes[-1] if self.notes else None
        if last is None or not _written_to_customer(last):
            return ""
        return last.text


def _written_to_customer(note: TicketNote) -> bool:
    """A note a person gave as they resolved the ticket: the resolution email's message."""
    return note.resolution and not note.by.startswith(SYSTEM_WRITER)
