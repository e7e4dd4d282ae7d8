"""Tickets: the whole ticket with its notes (``version``), and its entry in the
customer's list (a ticket about an anonymous order has no customer, so no entry)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.analytics import version_condition
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.domain.customers import UNVOUCHED
from chalicelib.domain.tickets import Ticket


class TicketRepository:
    """Tickets with optimistic versions."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create_ticket(self, ticket: Ticket) -> None:
        """Store a new ticket and its entry in the customer's list;
        ``ConcurrentModification`` if the ticket id is taken."""
        self._table.transact(
            [
                self._table.put(self._ticket_item(ticket), "attribute_not_exists(pk)"),
                *self._list_entry(ticket),
            ]
        )
        ticket.version += 1

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """A ticket, or None."""
        item = self._table.get(keys.ticket(ticket_id))
        if item is None:
            return None
        return Ticket.model_validate(item["doc"] | {"version": item["version"]})

    def save_ticket(self, ticket: Ticket) -> None:
        """Write a changed ticket if nobody changed it since it was read."""
        self._table.transact(
            [
                self._table.put(self._ticket_item(ticket), *version_condition(ticket.version)),
                *self._list_entry(ticket),
            ]
        )
        ticket.version += 1

    def put_ticket_owner(self, ticket_id: str, customer_id: str) -> None:
        """Re-point a ticket at the customer it now belongs to (after a merge), marked as
        brought by the merge (``Ticket.customer_unvouched``: a merge proves nothing). A new
        version: a change read before the move is refused, and read again (probe 153: a
        resolution written back over the move put the ticket back on the merged record)."""
        self._table.write(
            self._table.update(
                keys.ticket(ticket_id),
                "SET doc.customer_id = :c, doc.customer_unvouched = :marked ADD #version :one",
                values={":c": customer_id, ":marked": True, ":one": 1},
                names={"#version": "version"},
            )
        )

    @staticmethod
    def _ticket_item(ticket: Ticket) -> dict[str, Any]:
        return keys.ticket(ticket.ticket_id) | {
            "doc": ticket.model_dump(mode="json", exclude={"version"}),
            "version": ticket.version + 1,
        }

    def _list_entry(self, ticket: Ticket) -> list[Any]:
        """The put of the ticket's entry in its customer's list; none without a customer."""
        if ticket.customer_id is None:
            return []
        key = keys.customer_ticket(ticket.customer_id, ticket.opened_at, ticket.ticket_id)
        entry = {
            "ticket_id": ticket.ticket_id,
            "type": ticket.type.value,
            "status": ticket.status.value,
            "order_id": ticket.order_id,
            "subject": ticket.subject,
        } | ({UNVOUCHED: True} if ticket.customer_unvouched else {})
        return [self._table.put(key | entry)]
