"""Recognising customers by their identifiers."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.customers import (
    LOCALE_CHOSEN,
    Identifier,
    IdentifierClaim,
    IdentifierType,
    ProfileState,
    identifiers_of,
)
from chalicelib.domain.errors import ConcurrentModification, Conflict, NotFound, Unprocessable
from chalicelib.domain.requests import CustomerRef
from chalicelib.presentation.wording import language_of
from chalicelib.services import tokens
from chalicelib.services.retries import retried

if TYPE_CHECKING:
    from chalicelib.composition import Deps

RESOLVE_ATTEMPTS = 3


# The identifier types an order's contact holds (``CustomerContact``'s fields).
CONTACT_FIELDS = (IdentifierType.EMAIL.value, IdentifierType.PHONE.value)
# Claims of identifiers as one request read them, by (type, value): a later step of the
# same request decides on them first (pricing reads them before placing resolves them).
SeenClaims = dict[tuple[str, str], IdentifierClaim | None]


def find_owner(identifier: Identifier, deps: Deps, seen: SeenClaims | None = None) -> str | None:
    """The customer an identifier belongs to, its claim remembered in ``seen`` when given."""
    claim = deps.customers.identifier_claim(identifier)
    if seen is not None:
        seen[(identifier.type.value, identifier.value)] = claim
    return claim.customer_id if claim is not None else None


@dataclass(frozen=True)
class Resolution:
    """Which customer, found by which identifier, and whether we just created them.
    ``unvouched``: only identifiers merely attached to that record led to it (none it was
    founded with or that was proven on it), so its token holder may be someone else."""

    customer_id: str
    matched_by: str | None
    created: bool
    unvouched: bool = False
    # The identifiers named with it that other records own, by type: (type, record) pairs.
    owned_elsewhere: tuple[tuple[str, str], ...] = ()
    # The record's language, when its profile was read to resolve it.
    profile_locale: str | None = None
    # The record a new one was split off (``proven_customer``), when it was.
    split_from: str | None = None


def contact_fields_owned_elsewhere(resolution: Resolution) -> dict[str, str]:
    """The order's contact fields (email, phone) whose identifier another record owns, and
    that record: ``Order.contact_owned_by``."""
    return {kind: owner for kind, owner in resolution.owned_elsewhere if kind in CONTACT_FIELDS}


def customer_id_for(once: str) -> str:
    """The record a request asked under an Idempotency-Key founds (``once``: the key in its
    scope): a run again of that request, after its first run died before its answer was
    stored, knows the record it founded (found by a review: the retry answered
    ``created: false``, and a storefront's retry setting the new record's email
    preference was refused as if the record were someone else's)."""
    digest = hashlib.sha256(once.encode("utf-8", "surrogatepass")).hexdigest()
    return f"cus_{digest[:16]}"


def require_named_customer(customer_id: str, deps: Deps, field: str) -> tuple[str, dict[str, Any]]:
    """The record a request's ``customer_id`` names (the one it was merged into, if so)
    and its profile: 404 naming ``field`` when there is none, 409 when it was erased."""
    if not deps.store.customer_exists(customer_id):
        raise NotFound(f"no customer {customer_id}", field=field)
    owner, profile = canonical_customer(customer_id, deps)
    if profile.get("state") == ProfileState.ERASED:
        raise Conflict(f"customer {customer_id} was erased", field=field)
    return owner, profile


def resolve_customer(
    ref: CustomerRef,
    deps: Deps,
    field_prefix: str = "",
    seen: SeenClaims | None = None,
    once: str | None = None,
) -> Resolution:
    """Find the customer the identifiers name, or create one that owns them. ``seen``:
    owners this request read already, decided on in the first attempt (what it writes
    from them is conditional, and a retry reads afresh).

    Nothing here is proven: a record created here is founded by its first identifier
    (email, then phone, then loyalty id), the only one vouched for; the others, and any
    identifier attached to a record found, are not (``proven_customer``). A record found
    only through such attached identifiers is ``unvouched``, and so is one named by
    ``customer_id`` when ``unsure_whose``, unless an identifier given with it is vouched
    for there."""
    identifiers = identifiers_of(ref.email, ref.phone, ref.loyalty_id, field_prefix)
    if ref.customer_id:
        owner, profile = require_named_customer(ref.customer_id, deps, f"{field_prefix}customer_id")
        # How the caller came by the id is not known: if the record has identifiers merely
        # attached, it may have been looked up by one of them, for someone else, unless the
        # order also gives one vouched for there.
        vouched, attached = sorted_by_vouching(owner, deps)
        unvouched = not any(i in vouched for i in identifiers) and unsure_whose(
            owner, deps, attached
        )
        listed = vouched + attached
        others = [i for i in identifiers if i not in listed]
        elsewhere = _owned_elsewhere(owner, others, deps, seen or {})
        return Resolution(
            owner,
            "customer_id",
            False,
            unvouched=unvouched,
            owned_elsewhere=elsewhere,
            profile_locale=profile.get("locale"),
        )
    if not identifiers:
        raise Unprocessable(
            "give an email, phone or loyalty_id", field=f"{field_prefix.rstrip('.') or 'email'}"
        )

    unread = [seen or {}]  # decided on in the first attempt only

    founded_here = customer_id_for(once) if once is not None else None
    gone: list[str] = []  # the record founded here, found erased since: found another

    def find_or_create() -> Resolution:
        match = _match(identifiers, deps, unread.pop() if unread else {})
        if match is not None and match.customer_id == founded_here:
            return Resolution(match.customer_id, None, True)
        if match is not None:
            return match
        customer_id = founded_here if founded_here and not gone else f"cus_{uuid.uuid4().hex[:16]}"
        profile: dict[str, Any] = {"name": ref.name, "locale": ref.locale}
        if "locale" in ref.model_fields_set:
            profile[LOCALE_CHOSEN] = True
        try:
            deps.store.create_customer(customer_id, identifiers, profile, vouched=identifiers[0])
        except Conflict as exc:
            if customer_id == founded_here and deps.store.customer_exists(customer_id):
                gone.append(customer_id)
            # Someone claimed one of these identifiers just now: look again.
            raise ConcurrentModification(str(exc)) from exc
        return Resolution(customer_id, None, True)

    try:
        return retried(find_or_create, RESOLVE_ATTEMPTS)
    except ConcurrentModification as exc:
        raise Conflict("the customer's identifiers keep changing; try again") from exc


def record_locale(resolution: Resolution, deps: Deps) -> str:
    """The language the resolved record speaks (its profile's; es when it has none): an
    order or ticket that names none speaks it (probe 184: a customer recorded as English
    got Spanish order emails, and English ticket emails, from the same record)."""
    locale = resolution.profile_locale
    if locale is None:
        locale = (deps.customers.profile(resolution.customer_id) or {}).get("locale")
    return language_of(locale).value


def _match(
    identifiers: list[Identifier], deps: Deps, known: SeenClaims | None = None
) -> Resolution | None:
    """The customer the first identifier (email, phone, loyalty id) names. When the
    identifiers name two different customers we do not guess: the first wins and both are
    recorded as a merge candidate for a person to decide. Identifiers nobody owns yet are
    given to the customer found, not vouched for: naming them together proves nothing."""
    claims = [(identifier, _claim(identifier, deps, known or {})) for identifier in identifiers]
    found = [(identifier, claim) for identifier, claim in claims if claim is not None]
    if not found:
        return None
    first_identifier, first_claim = found[0]
    first_owner = first_claim.customer_id
    distinct = sorted({claim.customer_id for _, claim in found})
    if len(distinct) > 1:
        deps.customers.record_merge_candidate(
            distinct,
            {
                "identifiers": [i.model_dump(mode="json") for i, _ in found],
                "at": deps.clock().isoformat(),
            },
        )
    for identifier, claim in claims:
        if claim is None:
            deps.customers.claim_identifier(first_owner, identifier)
    # Vouched when what the request is told by (its email, else its phone, else its
    # loyalty id: the first given) is vouched for on the record found. An order with a new
    # email beside a phone someone proved is the new email's, not the phone owner's to
    # read (probe 195: the phone's owner read the placer's order, address and ticket).
    addressed_by = claims[0][1]
    vouched = (
        addressed_by is not None
        and addressed_by.customer_id == first_owner
        and addressed_by.vouched
    )
    elsewhere = tuple(
        (identifier.type.value, claim.customer_id)
        for identifier, claim in found
        if claim.customer_id != first_owner
    )
    return Resolution(
        first_owner,
        first_identifier.type.value,
        False,
        unvouched=not vouched,
        owned_elsewhere=elsewhere,
    )


def _owned_elsewhere(
    owner: str, identifiers: list[Identifier], deps: Deps, known: SeenClaims
) -> tuple[tuple[str, str], ...]:
    """Which of the identifiers named with a record's id (none of them listed on it)
    another record owns, as ``Resolution.owned_elsewhere``; each such record and the owner
    are recorded as a merge candidate, as when identifiers alone name two records (an
    erasure of the other record finds the owner's orders that named its identifiers
    through it). Nothing is claimed: naming a record by id proves nothing about them."""
    found = [(i, claim) for i in identifiers if (claim := _claim(i, deps, known)) is not None]
    elsewhere = [(i, claim.customer_id) for i, claim in found if claim.customer_id != owner]
    for other in sorted({record for _, record in elsewhere}):
        named = [i.model_dump(mode="json") for i, record in elsewhere if record == other]
        deps.customers.record_merge_candidate(
            sorted([owner, other]), {"identifiers": named, "at": deps.clock().isoformat()}
        )
    return tuple((i.type.value, record) for i, record in elsewhere)


def proven_customer(identifier: Identifier, deps: Deps) -> Resolution:
    """The customer someone who just proved ``identifier`` with a one-time code is: its
    owner when the identifier is vouched for on that record; a new record founded by it
    when nobody owns it; and when it was only attached to a record (named alongside
    another identifier, never proven), a new record too: the identifier is taken off the
    record it was attached to, and the two are recorded as a merge candidate for a person
    to decide. Proving an identifier proves that identifier, not what others attached it
    to (API.md: a customer token proves the customer)."""
    profile = {"name": None, "locale": CustomerRef().locale}

    def find_or_found() -> Resolution:
        claim = deps.customers.identifier_claim(identifier)
        if claim is not None and claim.vouched:
            return Resolution(claim.customer_id, identifier.type.value, False)
        customer_id = f"cus_{uuid.uuid4().hex[:16]}"
        try:
            if claim is None:
                deps.customers.create_customer(customer_id, [identifier], profile, identifier)
                return Resolution(customer_id, None, True)
            deps.customers.split_off_identifier(claim.customer_id, identifier, customer_id, profile)
        except Conflict as exc:
            # Claimed, released, vouched or moved by a merge meanwhile: read it again.
            raise ConcurrentModification(str(exc)) from exc
        deps.customers.record_merge_candidate(
            sorted([claim.customer_id, customer_id]),
            {
                "identifiers": [identifier.model_dump(mode="json")],
                "reason": "proven_identifier_split",
                "at": deps.clock().isoformat(),
            },
        )
        return Resolution(customer_id, None, True, split_from=claim.customer_id)

    try:
        return retried(find_or_found, RESOLVE_ATTEMPTS)
    except ConcurrentModification as exc:
        raise Conflict("the customer's identifiers keep changing; try again") from exc


def vouched_identifiers(customer_id: str, deps: Deps) -> list[Identifier]:
    """The identifiers a record lists that are vouched for there (it was founded with them,
    or they were proven on it): who its token holder is known to be. The others were named
    next to them by someone, maybe someone else. One read per identifier."""
    return sorted_by_vouching(customer_id, deps)[0]


def vouched_contact(customer_id: str, deps: Deps) -> tuple[str | None, str | None]:
    """The first email and the first phone vouched for on a record (None for none): where
    the record's own customer is told of what is theirs, never an attached identifier."""
    return _first_email_and_phone(vouched_identifiers(customer_id, deps))


def _first_email_and_phone(identifiers: list[Identifier]) -> tuple[str | None, str | None]:
    """The first email and the first phone among ``identifiers`` (None for none)."""
    emails = [i.value for i in identifiers if i.type is IdentifierType.EMAIL]
    phones = [i.value for i in identifiers if i.type is IdentifierType.PHONE]
    return (emails[0] if emails else None), (phones[0] if phones else None)


def told_before_merge(origin: str, survivor: str, deps: Deps) -> tuple[str | None, str | None]:
    """Where the customer of ``origin``, a record merged into ``survivor``, is told of what
    was theirs before the merge (an order placed by the record's id alone, a ticket written
    to its address): the first email and phone vouched for on ``origin`` that the survivor
    still holds (``IdentifierClaim.proven_on``: a merge moves claims unvouched). Never the
    survivor's own addresses: a merge is a person's guess, so neither record's customer
    hears of the other's. None once the survivor let the address go (an erasure) or
    someone proved it for a record of their own (split off). One read per identifier."""
    return _first_email_and_phone(
        [
            identifier
            for identifier, claim in _listed_claims(survivor, deps)
            if claim is not None and claim.customer_id == survivor and claim.proven_on == origin
        ]
    )


def told_by_id(customer_id: str, deps: Deps) -> tuple[str | None, str | None]:
    """Whom a request naming a record by its id alone stands for, and where to tell them
    of what is theirs (a refused order's back-in-stock notice): the record's vouched email,
    the rules of an order's own emails (``notify.addressee``). None for an unknown, merged
    or erased id, and no address for a record anyone may have found for someone else."""
    try:
        chain, profile = merge_chain(customer_id, deps)
    except NotFound:
        return None, None
    if len(chain) != 1 or profile.get("state") == ProfileState.ERASED:
        return None, None
    if unsure_whose(customer_id, deps):
        return customer_id, None
    return customer_id, vouched_contact(customer_id, deps)[0]


def sorted_by_vouching(customer_id: str, deps: Deps) -> tuple[list[Identifier], list[Identifier]]:
    """The identifiers a record lists: those vouched for there, and those merely attached
    (or claimed by another record meanwhile)."""
    vouched: list[Identifier] = []
    others: list[Identifier] = []
    for identifier, claim in _listed_claims(customer_id, deps):
        ours = claim is not None and claim.customer_id == customer_id and claim.vouched
        (vouched if ours else others).append(identifier)
    return vouched, others


def _listed_claims(customer_id: str, deps: Deps) -> list[tuple[Identifier, IdentifierClaim | None]]:
    """Each identifier a record lists, with its claim as read now (one read each)."""
    store = deps.customers
    return [(i, store.identifier_claim(i)) for i in store.identifiers(customer_id)]


def unsure_whose(customer_id: str, deps: Deps, attached: list[Identifier] | None = None) -> bool:
    """Whether someone who found this record may have found it for someone else: it lists
    an identifier merely attached to it (``attached``, when the caller sorted them
    already), or had one that was proven and split off (a record id looked up by it
    before is still in callers' hands)."""
    if attached is None:
        attached = sorted_by_vouching(customer_id, deps)[1]
    return bool(attached or deps.customers.split_off(customer_id))


def _claim(identifier: Identifier, deps: Deps, known: SeenClaims) -> IdentifierClaim | None:
    key = (identifier.type.value, identifier.value)
    return known[key] if key in known else deps.customers.identifier_claim(identifier)


def canonical_customer(customer_id: str, deps: Deps) -> tuple[str, dict[str, Any]]:
    """The customer an id stands for now (following merges) and its profile; ``NotFound``
    for an unknown id."""
    chain, profile = merge_chain(customer_id, deps)
    return chain[-1], profile


def refuse_if_erased(customer_id: str, deps: Deps, field: str = "customer_id") -> None:
    """``Conflict`` naming ``field`` once the customer the id stands for was erased: nothing
    new is written about them, and nothing they said is answered again."""
    if canonical_customer(customer_id, deps)[1].get("state") == ProfileState.ERASED:
        raise Conflict(f"customer {customer_id} was erased", field=field)


def person_records(owner: str, deps: Deps) -> list[str]:
    """The record and every record merged into it, however deep, the record first: one
    person's (a merge said so)."""
    found = [owner]
    for current in found:
        found.extend(
            r for r in dict.fromkeys(deps.customers.merged_into(current)) if r not in found
        )
    return found


def merge_chain(customer_id: str, deps: Deps) -> tuple[list[str], dict[str, Any]]:
    """The records an id went through by merges, itself first and the customer it stands
    for now last, and that customer's profile; ``NotFound`` for an unknown id."""
    chain = [customer_id]
    while True:
        profile = deps.customers.profile(chain[-1])
        if profile is None:
            raise NotFound(f"no customer {customer_id}", field="customer_id")
        target = profile.get("merged_into")
        if profile.get("state") != ProfileState.MERGED or not target or target in chain:
            return chain, profile
        chain.append(str(target))


def known_chain(customer_id: str | None, deps: Deps) -> tuple[list[str], dict[str, Any]] | None:
    """``merge_chain`` for an id that may be unknown or absent: None then."""
    if customer_id is None:
        return None
    try:
        return merge_chain(customer_id, deps)
    except NotFound:
        return None


_TOKEN_PURPOSE = "customer"
_TOKEN_VERSION = "c1"


@dataclass(frozen=True)
class CustomerToken:
    """A customer token and when it stops working."""

    token: str
    expires_at: datetime


def customer_token(customer_id: str, deps: Deps) -> CustomerToken:
    """``c1.<kid>.<expiry>.<customer id>.<signature>``: what a storefront presents as
    ``X-Customer-Token`` for a customer who proved an identifier; it expires."""
    now = deps.clock()
    expires = int(now.timestamp()) + deps.settings.customer_token_ttl_seconds
    kid, signature = tokens.sign(
        deps.secrets.tracking_keys(), _TOKEN_PURPOSE, str(expires), customer_id
    )
    return CustomerToken(
        token=f"{_TOKEN_VERSION}.{kid}.{expires}.{customer_id}.{signature}",
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


def token_grants(token: str | None, customer_id: str, deps: Deps) -> bool:
    """Whether an unexpired customer token was issued for exactly this customer id, and
    that record is still its own (not merged into another, not erased: an erasure ends
    the person's tokens). Tokens of the old form (no kid, no expiry) were handed to
    whoever knew an email: they open nothing.

    A merged id stands for its survivor on every customer route, but a token proves only
    the record it was issued for: an ops merge is a guess that two records are one person,
    so a token for the merged-in record must not open the survivor's data. After a merge
    the customer proves again, with an identifier vouched for on the survivor."""
    proven = token_holder(token, deps)
    return proven is not None and tokens.same(proven[0], customer_id)


def token_holder(token: str | None, deps: Deps) -> tuple[str, dict[str, Any]] | None:
    """The customer id a token proves (see ``token_grants``) and their profile as read to
    prove it, or None for a token that proves nobody: missing, forged, expired, of the old
    form, or of a merged or erased record."""
    if not token:
        return None
    version, _, rest = token.partition(".")
    kid, _, rest = rest.partition(".")
    expires, _, rest = rest.partition(".")
    named, _, signature = rest.rpartition(".")
    if version != _TOKEN_VERSION or not (expires.isascii() and expires.isdigit()):
        return None
    signed = tokens.verify(
        deps.secrets.tracking_keys(), kid, signature, _TOKEN_PURPOSE, expires, named
    )
    if not (signed and int(expires) > deps.clock().timestamp()):
        return None
    profile = deps.customers.profile(named)
    gone = (ProfileState.MERGED, ProfileState.ERASED)
    if profile is None or profile.get("state") in gone:
        return None
    return named, profile


def lookup_customer(
    email: str | None, phone: str | None, loyalty_id: str | None, deps: Deps
) -> Resolution:
    """The customer one identifier names, or ``NotFound``; never creates anybody."""
    given = [value for value in (email, phone, loyalty_id) if value]
    if len(given) != 1:
        raise Unprocessable("give exactly one of email, phone, loyalty_id", field="email")
    identifier = identifiers_of(email, phone, loyalty_id)[0]
    owner = deps.store.find_identifier(identifier)
    if owner is None:
        raise NotFound(f"nobody is known by that {identifier.type.value}", field=identifier.type)
    found, profile = canonical_customer(owner, deps)
    if profile.get("state") == ProfileState.ERASED:  # an erasure still releasing its identifiers
        raise NotFound(f"nobody is known by that {identifier.type.value}", field=identifier.type)
    return Resolution(found, identifier.type.value, False)
