"""What the handlers of one order-event delivery read once and share: the order the event
is about and its customer's merge chain.

Each handler of the subscriber needs the order only as of the event or newer (to word an
email, find the customer, follow up an opportunity, count a campaign): a read made after
the delivery began is that, so the first handler's read stands in for the others' (each
read of the order is a strongly consistent query of its partition; each step of a merge
chain a profile read). A redelivery is a new delivery and reads again.

Not from here: a read that must follow another one (the projection reads the order again
after the summary, so that what it writes is at least as new as what the summary was
written from) and any read a retry makes after losing a race: those read the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import NotFound
from chalicelib.services.customers import known_chain

if TYPE_CHECKING:
    from chalicelib.deps import Deps
    from chalicelib.domain.orders import Order

Chain = tuple[list[str], dict[str, Any]]


class EventReads:
    """One delivery's shared reads, each made on first use. The objects handed out are
    shared by every handler: read them, never change them (a handler that changes the
    order does so with ``mutate``, which reads its own, and hands the result to
    ``saw``)."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._orders: dict[str, Order] = {}
        self._chains: dict[str, Chain | None] = {}

    def order(self, order_id: str) -> Order:
        """The order, read on first use; ``NotFound`` (read again next time) if unknown."""
        known = self._orders.get(order_id)
        if known is None:
            known = self._orders[order_id] = self._deps.store.get_order(order_id)
        return known

    def saw(self, order: Order) -> None:
        """A handler wrote ``order``: the later handlers read it as written (newer)."""
        self._orders[order.order_id] = order

    def known_chain(self, customer_id: str | None) -> Chain | None:
        """``customers.known_chain``, walked on first use: the records the id went through
        by merges and the profile of the one it stands for now; None for no id or an
        unknown one."""
        if customer_id is None:
            return None
        if customer_id not in self._chains:
            self._chains[customer_id] = known_chain(customer_id, self._deps)
        return self._chains[customer_id]

    def canonical_customer(self, customer_id: str) -> tuple[str, dict[str, Any]]:
        """``customers.canonical_customer``: the customer the id stands for now, and its
        profile; ``NotFound`` if unknown."""
        known = self.known_chain(customer_id)
        if known is None:
            raise NotFound(f"no customer {customer_id}", field="customer_id")
        chain, profile = known
        return chain[-1], profile
