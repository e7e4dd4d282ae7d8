"""Who a customer is: the profile (name, locale, ``state`` active, merged or erased), the
identifiers they own (unique by condition, with a copy in the customer's partition), the
merges and the erasure record."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import (
    MAX_TRANSACTION_ITEMS,
    ConditionFailed,
    Table,
    TransactionCancelled,
)
from chalicelib.domain.customers import Identifier, IdentifierType
from chalicelib.domain.errors import ConcurrentModification, Conflict

_ACTIVE = "attribute_not_exists(#state) OR #state = :active"


class IdentityRepository:
    """Profiles and identifiers: created, claimed, merged, released."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def find_identifier(self, identifier: Identifier) -> str | None:
        """The customer an identifier belongs to."""
        item = self._table.get(keys.identifier(identifier))
        return str(item["customer_id"]) if item is not None else None

    def create_customer(
        self, customer_id: str, identifiers: list[Identifier], profile: dict[str, Any]
    ) -> None:
        """Store a customer and claim its identifiers, or ``Conflict`` if one is taken.

        One transaction, although it bills every item twice: written apart, a crash between
        the profile and the claims would leave a profile with personal data that no
        identifier or order leads to, so that no erasure request could ever find it."""
        writes = [
            self._table.put(
                keys.profile(customer_id) | {"state": "active"} | profile,
                "attribute_not_exists(pk)",
            )
        ]
        for identifier in identifiers:
            writes.append(self._claim(customer_id, identifier, "attribute_not_exists(pk)"))
            writes.append(self._mirror(customer_id, identifier))
        try:
            self._table.transact(writes)
        except TransactionCancelled as exc:
            raise Conflict("an identifier was claimed at the same time") from exc

    def customer_exists(self, customer_id: str) -> bool:
        """Whether this customer id is known."""
        return self._table.get(keys.profile(customer_id), consistent=False) is not None

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        """The profile: name, locale, state (active, merged, erased), merged_into."""
        return self._table.get(keys.profile(customer_id))

    def identifiers(self, customer_id: str) -> list[Identifier]:
        """The identifiers the customer owns."""
        page = self._table.partition(keys.customer_pk(customer_id), keys.IDENTIFIER_PREFIX)
        return [Identifier(type=IdentifierType(i["type"]), value=i["value"]) for i in page.items]

    def set_notifications(self, customer_id: str, preference: str) -> bool:
        """Record the profile's email preference, on an active profile only."""
        write = self._table.update(
            keys.profile(customer_id),
            "SET notifications = :preference",
            f"attribute_exists(pk) AND ({_ACTIVE})",
            {":preference": preference, ":active": "active"},
            {"#state": "state"},
        )
        try:
            self._table.write(write)
        except ConditionFailed:
            return False
        return True

    def claim_identifier(self, customer_id: str, identifier: Identifier) -> bool:
        """Give an unowned identifier to a customer; False if someone owns it."""
        return self._table.transact_if(
            [
                self._claim(customer_id, identifier, "attribute_not_exists(pk)"),
                self._mirror(customer_id, identifier),
            ]
        )

    def forget_identifier(self, customer_id: str, identifier: Identifier) -> None:
        """Release an identifier the customer owns and drop their copy of it; safe to repeat
        (an identifier someone else owns now is left to them)."""
        release = self._release(customer_id, identifier)
        mirror = self._table.delete(keys.identifier_mirror(customer_id, identifier))
        try:
            self._table.transact([release, mirror])
        except TransactionCancelled as exc:
            if not exc.failed_on(keys.identifier(identifier)):
                raise
            self._table.transact([mirror])

    def merge_profiles(
        self, survivor: str, merged: str, identifiers: list[Identifier], record: dict[str, Any]
    ) -> None:
        """Point the merged record and its identifiers at the survivor and record who did it,
        atomically; ``Conflict`` if either record stopped being active meanwhile."""
        writes = [
            self._table.update(
                keys.profile(merged),
                "SET #state = :merged, merged_into = :to, merged_at = :at",
                f"attribute_exists(pk) AND ({_ACTIVE})",
                {":merged": "merged", ":active": "active", ":to": survivor, ":at": record["at"]},
                {"#state": "state"},
            ),
            self._table.check(
                keys.profile(survivor),
                f"attribute_exists(pk) AND ({_ACTIVE})",
                {":active": "active"},
                {"#state": "state"},
            ),
            self._table.put(keys.merge_record(survivor, str(record["at"]), merged) | record),
        ]
        for identifier in identifiers:
            writes.append(self._claim(survivor, identifier, "customer_id = :from", merged))
            writes.append(self._mirror(survivor, identifier))
            writes.append(self._table.delete(keys.identifier_mirror(merged, identifier)))
        if len(writes) > MAX_TRANSACTION_ITEMS:
            raise Conflict("too many identifiers to merge at once", field="from_customer_id")
        try:
            self._table.transact(writes)
        except ConcurrentModification as exc:
            raise Conflict("one of the customers changed; read both again") from exc

    def erasure(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's erasure record, if an erasure was begun."""
        return self._table.get(keys.erasure(customer_id))

    def begin_erasure(
        self, customer_id: str, identifiers: list[Identifier], record: dict[str, Any]
    ) -> None:
        """Record the erasure and mark the record erased (its name dropped), and release
        these identifiers, atomically: from then on the record is erased whatever happens
        to the steps that follow. ``ConcurrentModification`` if the record is neither
        active nor erased, or an erasure was recorded meanwhile."""
        writes = [
            self._table.update(
                keys.profile(customer_id),
                "SET #state = :erased, erased_at = if_not_exists(erased_at, :at) REMOVE #name",
                # Erased without a record only by an erasure that predates the records.
                "attribute_exists(pk) AND (attribute_not_exists(#state) OR "
                "#state IN (:active, :erased))",
                {":erased": "erased", ":active": "active", ":at": record["at"]},
                {"#state": "state", "#name": "name"},
            ),
            self._table.put(keys.erasure(customer_id) | record, "attribute_not_exists(pk)"),
        ]
        for identifier in identifiers[: (MAX_TRANSACTION_ITEMS - len(writes)) // 2]:
            writes.append(self._release(customer_id, identifier))
            writes.append(self._table.delete(keys.identifier_mirror(customer_id, identifier)))
        self._table.transact(writes)

    def finish_erasure(self, customer_id: str, at: str) -> dict[str, Any]:
        """Mark the erasure complete and drop what it kept only to finish its work."""
        done = self._table.write(
            self._table.update(
                keys.erasure(customer_id),
                "SET #status = :done, completed_at = if_not_exists(completed_at, :at) "
                "REMOVE pending_addresses, pending_outbox",
                "attribute_exists(pk)",
                {":done": "completed", ":at": at},
                {"#status": "status"},
            )
        )
        assert done is not None
        return done

    def _claim(
        self, customer_id: str, identifier: Identifier, condition: str, previous: str = ""
    ) -> dict[str, Any]:
        values = {":from": previous} if previous else None
        item = keys.identifier(identifier) | {"customer_id": customer_id}
        return self._table.put(item, condition, values)

    def _mirror(self, customer_id: str, identifier: Identifier) -> dict[str, Any]:
        item = keys.identifier_mirror(customer_id, identifier) | {
            "type": identifier.type.value,
            "value": identifier.value,
        }
        return self._table.put(item)

    def _release(self, customer_id: str, identifier: Identifier) -> dict[str, Any]:
        return self._table.delete(
            keys.identifier(identifier),
            "attribute_not_exists(pk) OR customer_id = :me",
            {":me": customer_id},
        )
