"""``POST /customers`` under an Idempotency-Key founds its record under an id made from the
key: a run again of the request (its first run died before Powertools stored its answer)
knows the record it founded and answers ``created: true`` again."""

from __future__ import annotations

import uuid

from chalicelib.deps import Deps
from chalicelib.domain.requests import CustomerRef
from chalicelib.services import customer_records
from chalicelib.services.customers import canonical_customer, customer_id_for, resolve_customer


def _ref() -> CustomerRef:
    return CustomerRef(email=f"once-{uuid.uuid4().hex[:8]}@example.com")


def test_a_record_founded_under_a_key_is_founded_again_by_its_run_again(deps: Deps) -> None:
    ref = _ref()
    first = resolve_customer(ref, deps, once="customers-shop\nk1")
    again = resolve_customer(ref, deps, once="customers-shop\nk1")

    assert first.customer_id == customer_id_for("customers-shop\nk1")
    assert (again.customer_id, again.matched_by, again.created) == (first.customer_id, None, True)
    # Another request, keyed or not, finds the record: it did not found it.
    other = resolve_customer(ref, deps, once="customers-shop\nk2")
    plain = resolve_customer(ref, deps)
    for found in (other, plain):
        assert (found.customer_id, found.matched_by, found.created) == (
            first.customer_id,
            "email",
            False,
        )


def test_a_record_someone_else_founded_first_is_found_not_founded(deps: Deps) -> None:
    ref = _ref()
    earlier = resolve_customer(ref, deps)
    keyed = resolve_customer(ref, deps, once="customers-shop\nk3")
    assert (keyed.customer_id, keyed.created) == (earlier.customer_id, False)


def test_a_record_erased_before_its_run_again_is_not_brought_back(deps: Deps) -> None:
    # Founded, then erased within the key's life: the run again founds a record of its
    # own, as a request without a key would, and the erased record stays erased.
    ref, once = _ref(), "customers-shop\nk4"
    first = resolve_customer(ref, deps, once=once)
    customer_records.erase_customer(first.customer_id, "ops-console", "ops", deps)

    again = resolve_customer(ref, deps, once=once)

    assert again.created and again.customer_id != first.customer_id
    assert canonical_customer(first.customer_id, deps)[1].get("state") == "erased"
