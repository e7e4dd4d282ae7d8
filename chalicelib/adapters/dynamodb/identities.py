"""Who a customer is: the profile (name, locale, ``state`` active, merged or erased), the
identifiers they own (unique by condition, listed on the profile), the merges and the
erasure record.

The profile lists the customer's identifiers (``PROFILE_IDENTIFIERS``, a string set of
``<type>#<value>``) in the write that claims them: a new customer is two items, not three.
Customers stored before kept a copy of each identifier as an item of their partition
(``keys.identifier_mirror``); those copies are still read, moved by a merge and deleted
with their identifier.

Each claim (the identifier item) says whether it is vouched for (``VOUCHED``, a boolean):
true for the identifier a record was founded with or one proven with a one-time code,
false for one attached to an existing record because a request named it alongside
another. A claim stored before the flag existed has none and counts as vouched: those
customers keep getting tokens for what they proved before."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import (
    MAX_TRANSACTION_ITEMS,
    ConditionFailed,
    Table,
    TransactionCancelled,
)
from chalicelib.domain.customers import (
    LOCALE_CHOSEN,
    MAX_ATTACHED_IDENTIFIERS,
    Identifier,
    IdentifierClaim,
    IdentifierType,
)
from chalicelib.domain.errors import ConcurrentModification, Conflict

_ACTIVE = "attribute_not_exists(#state) OR #state = :active"
# A profile that exists and is active (neither merged nor erased).
_ACTIVE_PROFILE = f"attribute_exists(pk) AND ({_ACTIVE})"
# The profile's string set of the identifiers the customer owns (``<type>#<value>``).
PROFILE_IDENTIFIERS = "identifiers"
# The claim's flag: founded the record or proven with a code (absent on older claims).
VOUCHED = "vouched"
# The record a claim was vouched for on before a merge moved it (``IdentifierClaim``).
PROVEN_ON = "proven_on"


def _profile_sets(
    attributes: Mapping[str, Any],
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """``#a0 = :a0, ...`` with its values and names, for profile attributes set at once."""
    sets = ", ".join(f"#a{i} = :a{i}" for i in range(len(attributes)))
    values = {f":a{i}": value for i, value in enumerate(attributes.values())}
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    return sets, values, names


class IdentityRepository:
    """Profiles and identifiers: created, claimed, merged, released."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def find_identifier(self, identifier: Identifier) -> str | None:
        """The customer an identifier belongs to."""
        item = self._table.get(keys.identifier(identifier))
        return str(item["customer_id"]) if item is not None else None

    def identifier_claim(self, identifier: Identifier) -> IdentifierClaim | None:
        """Who owns an identifier and whether it is vouched for."""
        item = self._table.get(keys.identifier(identifier))
        if item is None:
            return None
        # No flag: claimed before claims were flagged, when every owner had proven it or
        # founded the record with it as far as we can tell; they keep working.
        proven_on = item.get(PROVEN_ON)
        return IdentifierClaim(
            str(item["customer_id"]),
            bool(item.get(VOUCHED, True)),
            str(proven_on) if proven_on else None,
        )

    def create_customer(
        self,
        customer_id: str,
        identifiers: list[Identifier],
        profile: dict[str, Any],
        vouched: Identifier | None = None,
    ) -> None:
        """Store a customer and claim its identifiers (``vouched`` vouched for, the others
        not), or ``Conflict`` if one is taken.

        One transaction, although it bills every item twice: written apart, a crash between
        the profile and the claims would leave a profile with personal data that no
        identifier or order leads to, so that no erasure request could ever find it."""
        listed = {PROFILE_IDENTIFIERS: _names(identifiers)} if identifiers else {}
        writes = [
            self._table.put(
                keys.profile(customer_id) | {"state": "active"} | profile | listed,
                "attribute_not_exists(pk)",
            )
        ]
        for identifier in identifiers:
            writes.append(
                self._claim(
                    customer_id, identifier, identifier == vouched, "attribute_not_exists(pk)"
                )
            )
        try:
            self._table.transact(writes)
        except TransactionCancelled as exc:
            raise Conflict("an identifier was claimed at the same time") from exc

    def customer_exists(self, customer_id: str) -> bool:
        """Whether this customer id is known; read strongly (a storefront orders with the
        id ``POST /customers`` gave it a moment ago)."""
        return self._table.get(keys.profile(customer_id)) is not None

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        """The profile: name, locale, state (active, merged, erased), merged_into."""
        item = self._table.get(keys.profile(customer_id))
        if item is not None:
            item.pop(PROFILE_IDENTIFIERS, None)  # read through ``identifiers``
        return item

    def identifiers(self, customer_id: str) -> list[Identifier]:
        """The identifiers the customer owns, in the order of their names (``<type>#<value>``,
        the order the copies' sort keys gave)."""
        listed, copied = self._stored_identifiers(customer_id)
        return [_identifier(name) for name in sorted(listed | copied)]

    def set_notifications(self, customer_id: str, preference: str) -> bool:
        """Record the profile's email preference, on an active profile only."""
        return self._set_on_active_profile(customer_id, {"notifications": preference})

    def set_locale(self, customer_id: str, locale: str) -> bool:
        """Record the language the customer asked for, on an active profile only."""
        return self._set_on_active_profile(customer_id, {"locale": locale, LOCALE_CHOSEN: True})

    def _set_on_active_profile(self, customer_id: str, attributes: Mapping[str, Any]) -> bool:
        sets, values, names = _profile_sets(attributes)
        write = self._table.update(
            keys.profile(customer_id),
            f"SET {sets}",
            _ACTIVE_PROFILE,
            values | {":active": "active"},
            names | {"#state": "state"},
        )
        try:
            self._table.write(write)
        except ConditionFailed:
            return False
        return True

    def claim_identifier(self, customer_id: str, identifier: Identifier) -> bool:
        """Give an unowned identifier to a customer, not vouched for; False if someone owns
        it, the customer has no active profile (an order resolved just before its
        customer's erasure or merge must not attach its phone to the record after it), or
        the profile lists ``MAX_ATTACHED_IDENTIFIERS`` already."""
        room = f"attribute_not_exists({PROFILE_IDENTIFIERS}) OR size({PROFILE_IDENTIFIERS}) < :most"
        listing = self._table.update(
            keys.profile(customer_id),
            f"ADD {PROFILE_IDENTIFIERS} :names",
            f"{_ACTIVE_PROFILE} AND ({room})",
            {
                ":names": {_name(identifier)},
                ":active": "active",
                ":most": MAX_ATTACHED_IDENTIFIERS,
            },
            {"#state": "state"},
        )
        claim = self._claim(customer_id, identifier, False, "attribute_not_exists(pk)")
        return self._table.transact_if([claim, listing])

    def split_off_identifier(
        self, from_customer: str, identifier: Identifier, customer_id: str, profile: dict[str, Any]
    ) -> None:
        """Take an identifier ``from_customer`` owns unvouched off that record and found the
        new record ``customer_id`` with it, vouched, in one transaction: the claim passes
        from one to the other without ever being free for a third. Each record names the
        other (``split_from`` on the new profile, a split item in the old partition, ids
        only), so that erasing the old record reaches the new one. ``Conflict`` if the
        claim is no longer ``from_customer``'s unvouched one or ``customer_id`` exists."""
        listed, copied = self._stored_identifiers(from_customer)
        founded = keys.profile(customer_id) | {"state": "active"} | profile
        founded |= {"split_from": from_customer}
        writes = [
            self._table.put(
                founded | {PROFILE_IDENTIFIERS: {_name(identifier)}}, "attribute_not_exists(pk)"
            ),
            # Only an unvouched claim moves: an absent flag (an older claim) counts as
            # vouched and fails the condition, as does another owner or a released claim.
            self._claim(
                customer_id,
                identifier,
                True,
                "customer_id = :from AND #vouched = :unvouched",
                {":from": from_customer, ":unvouched": False},
                {"#vouched": VOUCHED},
            ),
            *self._unlist(from_customer, [identifier], listed, copied),
            self._table.put(
                keys.split_record(from_customer, customer_id) | {"customer_id": customer_id}
            ),
        ]
        try:
            self._table.transact(writes)
        except TransactionCancelled as exc:
            raise Conflict("the identifier's claim changed meanwhile") from exc

    def forget_identifier(self, customer_id: str, identifier: Identifier) -> None:
        """Release an identifier the customer owns and take it off their list; safe to
        repeat (an identifier someone else owns now is left to them)."""
        listed, copied = self._stored_identifiers(customer_id)
        unlisted = self._unlist(customer_id, [identifier], listed, copied)
        try:
            self._table.transact([self._release(customer_id, identifier), *unlisted])
        except TransactionCancelled as exc:
            if not exc.failed_on(keys.identifier(identifier)):
                raise
            if unlisted:
                self._table.transact(unlisted)

    def merge_profiles(
        self,
        survivor: str,
        merged: str,
        identifiers: list[Identifier],
        record: dict[str, Any],
        vouched: Collection[Identifier] = (),
        survivor_takes: Mapping[str, Any] | None = None,
    ) -> None:
        """Point the merged record and its identifiers at the survivor, none of them vouched
        for there, and record who did it, atomically (with ``survivor_takes`` set on the
        survivor's profile); ``Conflict`` if either record stopped being active meanwhile,
        or the merged record lists an identifier not given."""
        listed, copied = self._stored_identifiers(merged)
        moved = _names(identifiers)
        # Every identifier the merged record lists moves, or none: one claimed by the record
        # as it was being merged (another merge into it, probe 154) would stay on a merged
        # record, out of the survivor's listing.
        if listed - moved:
            raise Conflict(
                "one of the customers changed; read both again", field="from_customer_id"
            )
        merged_update = "SET #state = :merged, merged_into = :to, merged_at = :at"
        values: dict[str, Any] = {
            ":merged": "merged",
            ":active": "active",
            ":to": survivor,
            ":at": record["at"],
        }
        if moved & listed:
            merged_update += f" DELETE {PROFILE_IDENTIFIERS} :moved"
            values[":moved"] = moved & listed
        active = _ACTIVE_PROFILE
        survivor_sets: list[str] = []
        survivor_values: dict[str, Any] = {":active": "active"}
        survivor_names = {"#state": "state"}
        if moved:
            survivor_sets.append(f"ADD {PROFILE_IDENTIFIERS} :moved")
            survivor_values[":moved"] = moved
        if survivor_takes:
            sets, taken, names = _profile_sets(survivor_takes)
            survivor_sets.append(f"SET {sets}")
            survivor_values |= taken
            survivor_names |= names
        if survivor_sets:
            survivor_write = self._table.update(
                keys.profile(survivor),
                " ".join(survivor_sets),
                active,
                survivor_values,
                survivor_names,
            )
        else:
            survivor_write = self._table.check(
                keys.profile(survivor), active, {":active": "active"}, {"#state": "state"}
            )
        # ...and none claimed between that read and this write.
        if listed:
            merged_condition = f"{active} AND size({PROFILE_IDENTIFIERS}) = :listed"
            values[":listed"] = len(listed)
        else:
            merged_condition = f"{active} AND attribute_not_exists({PROFILE_IDENTIFIERS})"
        writes = [
            self._table.update(
                keys.profile(merged), merged_update, merged_condition, values, {"#state": "state"}
            ),
            survivor_write,
            self._table.put(keys.merge_record(survivor, str(record["at"]), merged) | record),
        ]
        for identifier in identifiers:
            # Unvouched on the survivor, whatever it was on the merged record: a merge is
            # a person's guess that the records are one customer and proves nothing. Kept
            # vouched, an identifier proven on a split-off record (or an attacker's own
            # record) would open the survivor's data to whoever proved it. One proven on
            # the merged record remembers it: what that record's customer was told at.
            remembered = f", {PROVEN_ON} = :from" if identifier in vouched else ""
            writes.append(
                self._table.update(
                    keys.identifier(identifier),
                    f"SET customer_id = :to, #vouched = :unvouched{remembered}",
                    "customer_id = :from",
                    {":to": survivor, ":from": merged, ":unvouched": False},
                    {"#vouched": VOUCHED},
                )
            )
            if _name(identifier) in copied:
                writes.append(self._table.delete(keys.identifier_mirror(merged, identifier)))
        if len(writes) > MAX_TRANSACTION_ITEMS:
            raise Conflict("too many identifiers to merge at once", field="from_customer_id")
        try:
            self._table.transact(writes)
        except ConcurrentModification as exc:
            # Either record may be the one that changed (merges racing each other, probe
            # 184): the answer names the one asked to move, as the refusals before it do.
            raise Conflict(
                "one of the customers changed; read both again", field="from_customer_id"
            ) from exc

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
        listed, copied = self._stored_identifiers(customer_id)
        # Each identifier is released with its copy when it has one (two writes); the rest
        # are left to the erasure's later step.
        released: list[Identifier] = []
        room = MAX_TRANSACTION_ITEMS - 2
        for identifier in identifiers:
            room -= 2 if _name(identifier) in copied else 1
            if room < 0:
                break
            released.append(identifier)
        update = "SET #state = :erased, erased_at = if_not_exists(erased_at, :at) REMOVE #name"
        values: dict[str, Any] = {":erased": "erased", ":active": "active", ":at": record["at"]}
        unlisted = _names(released) & listed
        if unlisted:
            update += f" DELETE {PROFILE_IDENTIFIERS} :released"
            values[":released"] = unlisted
        writes = [
            self._table.update(
                keys.profile(customer_id),
                update,
                # Erased without a record only by an erasure that predates the records.
                "attribute_exists(pk) AND (attribute_not_exists(#state) OR "
                "#state IN (:active, :erased))",
                values,
                {"#state": "state", "#name": "name"},
            ),
            self._table.put(keys.erasure(customer_id) | record, "attribute_not_exists(pk)"),
        ]
        for identifier in released:
            writes.append(self._release(customer_id, identifier))
            if _name(identifier) in copied:
                writes.append(self._table.delete(keys.identifier_mirror(customer_id, identifier)))
        self._table.transact(writes)

    def keep_erasure_addresses(self, customer_id: str, addresses: Collection[str]) -> bool:
        """Add ``addresses`` to the string set ``pending_late_addresses`` of an erasure still
        in progress (a set added to, so two runs adding at once both keep theirs; the
        list ``pending_addresses`` written when it was recorded stays as it is); False,
        nothing written, once the erasure is complete."""
        if not addresses:
            return True
        try:
            self._table.write(
                self._table.update(
                    keys.erasure(customer_id),
                    "ADD pending_late_addresses :found",
                    "#status = :in_progress",
                    {":found": set(addresses), ":in_progress": "in_progress"},
                    {"#status": "status"},
                )
            )
        except ConditionFailed:
            return False
        return True

    def finish_erasure(self, customer_id: str, at: str) -> dict[str, Any]:
        """Mark the erasure complete and drop what it kept only to finish its work."""
        done = self._table.write(
            self._table.update(
                keys.erasure(customer_id),
                "SET #status = :done, completed_at = if_not_exists(completed_at, :at) "
                "REMOVE pending_addresses, pending_late_addresses, pending_outbox",
                "attribute_exists(pk)",
                {":done": "completed", ":at": at},
                {"#status": "status"},
            )
        )
        assert done is not None
        return done

    def _claim(
        self,
        customer_id: str,
        identifier: Identifier,
        vouched: bool,
        condition: str,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        item = keys.identifier(identifier) | {"customer_id": customer_id, VOUCHED: vouched}
        return self._table.put(item, condition, values, names)

    def _stored_identifiers(self, customer_id: str) -> tuple[set[str], set[str]]:
        """The names of the identifiers the profile lists and of those the customer has a
        copy of (stored before the profile listed them)."""
        profile = self._table.get(keys.profile(customer_id)) or {}
        listed = set(profile.get(PROFILE_IDENTIFIERS, set()))
        page = self._table.partition(keys.customer_pk(customer_id), keys.IDENTIFIER_PREFIX)
        copied = {
            _name(Identifier(type=IdentifierType(i["type"]), value=i["value"])) for i in page.items
        }
        return listed, copied

    def _unlisting(self, customer_id: str, names: set[str]) -> dict[str, Any]:
        """Take names off the profile's list."""
        return self._table.update(
            keys.profile(customer_id),
            f"DELETE {PROFILE_IDENTIFIERS} :names",
            None,
            {":names": names},
        )

    def _unlist(
        self,
        customer_id: str,
        identifiers: list[Identifier],
        listed: set[str],
        copied: set[str],
    ) -> list[dict[str, Any]]:
        """The writes that take identifiers off the profile's list and drop their copies,
        only where they are (a write to an absent item still bills)."""
        writes = []
        if _names(identifiers) & listed:
            writes.append(self._unlisting(customer_id, _names(identifiers) & listed))
        for identifier in identifiers:
            if _name(identifier) in copied:
                writes.append(self._table.delete(keys.identifier_mirror(customer_id, identifier)))
        return writes

    def _release(self, customer_id: str, identifier: Identifier) -> dict[str, Any]:
        return self._table.delete(
            keys.identifier(identifier),
            "attribute_not_exists(pk) OR customer_id = :me",
            {":me": customer_id},
        )


def _name(identifier: Identifier) -> str:
    """How the profile lists an identifier: ``<type>#<value>`` (a type holds no ``#``)."""
    return f"{identifier.type.value}#{identifier.value}"


def _names(identifiers: list[Identifier]) -> set[str]:
    return {_name(identifier) for identifier in identifiers}


def _identifier(name: str) -> Identifier:
    kind, value = name.split("#", 1)
    return Identifier(type=IdentifierType(kind), value=value)
