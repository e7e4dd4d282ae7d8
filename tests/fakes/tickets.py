"""In-memory ``Tickets``: versioned tickets, and each customer's list of them kept as the
table keeps it."""

from __future__ import annotations

import copy

from chalicelib.domain.customers import UNVOUCHED
from chalicelib.domain.errors import ConcurrentModification
from chalicelib.domain.tickets import Ticket
from chalicelib.ports import CustomerRecord
from tests.fakes.memory import Memory


class FakeTickets:
    """``Tickets`` in memory, with the customer's list kept as the table keeps it."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def create_ticket(self, ticket: Ticket) -> None:
        if ticket.ticket_id in self._m.tickets:
            raise ConcurrentModification("the item changed while we worked on it")
        self._write(ticket)

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        stored = self._m.tickets.get(ticket_id)
        return Ticket.model_validate(copy.deepcopy(stored)) if stored else None

    def save_ticket(self, ticket: Ticket) -> None:
        stored = self._m.tickets.get(ticket.ticket_id, {}).get("version", 0)
        if stored != ticket.version:
            raise ConcurrentModification("the item changed while we worked on it")
        self._write(ticket)

    def put_ticket_owner(self, ticket_id: str, customer_id: str) -> None:
        self._m.tickets[ticket_id]["customer_id"] = customer_id
        self._m.tickets[ticket_id][UNVOUCHED] = True
        self._m.tickets[ticket_id]["version"] += 1

    def _write(self, ticket: Ticket) -> None:
        ticket.version += 1
        self._m.tickets[ticket.ticket_id] = ticket.model_dump(mode="json")
        if ticket.customer_id is None:
            return  # an anonymous order's ticket is in no customer's list
        entry = {
            "ticket_id": ticket.ticket_id,
            "type": ticket.type.value,
            "status": ticket.status.value,
            "order_id": ticket.order_id,
            "subject": ticket.subject,
        } | ({UNVOUCHED: True} if ticket.customer_unvouched else {})
        kept = self._m.kept(ticket.customer_id, CustomerRecord.TICKETS)
        kept[f"{ticket.opened_at.isoformat()}#{ticket.ticket_id}"] = entry
