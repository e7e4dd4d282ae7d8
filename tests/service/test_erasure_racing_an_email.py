"""An erasure that runs while an email to the person is on its way: the email was claimed
(its interaction written) before the erasure and is sent after it purged the copies kept
where the environment keeps them (the local stack's outbox). Found as a rare failure of
the HTTP erasure tests, which then read the person's address in ``GET /ops/outbox``."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from chalicelib.deps import Deps
from chalicelib.domain.catalog import Product
from chalicelib.domain.money import Money
from chalicelib.domain.requests import RecordMovementRequest
from chalicelib.services import customer_records, inventory, opportunities, verification
from infra.local.demo_data import load_demo_data
from tests.fakes import fake_deps
from tests.fakes.outside import KeptCopies, Outgoing
from tests.service import flows


@dataclass
class ErasedWhileSending(Outgoing):
    """A mailer whose first send is overtaken by the erasure of ``customer_id``: the
    erasure runs, then the message goes out and its copy is kept."""

    outbox: KeptCopies = field(default_factory=KeptCopies)
    deps: Deps | None = None
    customer_id: str | None = None

    # Erase while sending to this address (by default, whatever is sent first).
    while_sending_to: str | None = None

    def send(self, to: str, *parts: str) -> str:
        now = self.while_sending_to in (None, to)
        if self.customer_id is not None and self.deps is not None and now:
            erasing, self.customer_id = self.customer_id, None
            customer_records.erase_customer(erasing, "ops", "ops", self.deps)
        message_id = super().send(to, *parts)
        self.outbox.copies.append({"id": message_id, "to": to, "text": "\n".join(parts)})
        return message_id


def _racing_deps() -> tuple[Deps, ErasedWhileSending]:
    mailer = ErasedWhileSending()
    deps = fake_deps(mailer=mailer, outbox=mailer.outbox)
    load_demo_data(deps.store)
    mailer.deps = deps
    return deps, mailer


def test_no_copy_of_an_email_sent_as_the_person_was_erased_is_kept() -> None:
    deps, mailer = _racing_deps()
    address = "carrera@example.com"
    order = flows.reserved(deps, customer={"email": address, "name": "Ana Carrera"})
    mailer.customer_id = order.customer_id

    flows.mail_everything(deps)

    assert mailer.customer_id is None  # the erasure ran inside the first send
    assert [m["to"] for m in mailer.sent][:1] == [address]  # that one had left already
    assert mailer.outbox.recipients == []


def test_copies_of_emails_to_someone_not_erased_are_kept() -> None:
    deps, mailer = _racing_deps()
    address = "sigue@example.com"
    flows.reserved(deps, customer={"email": address, "name": "Ana Sigue"})

    flows.mail_everything(deps)

    assert mailer.sent and mailer.outbox.recipients == [m["to"] for m in mailer.sent]


def test_erasing_someone_who_named_an_address_keeps_its_owner_s_copies() -> None:
    """CI: erasing A while an email about A's order went to B's address, which A's order
    named, deleted every copy of B's own emails too; only the one about A's order goes."""
    deps, mailer = _racing_deps()
    someone = "duena@example.com"
    own = flows.reserved(deps, customer={"email": someone, "name": "Berta Dueña"})
    flows.mail_everything(deps)
    kept_before = list(mailer.outbox.copies)
    phone = "+34600111222"
    person = flows.place(deps, customer={"phone": phone, "name": "Alba"}).customer_id
    named = flows.reserved(deps, customer={"customer_id": person, "phone": phone, "email": someone})
    assert named.customer_id != own.customer_id
    mailer.customer_id, mailer.while_sending_to = named.customer_id, someone

    flows.mail_everything(deps)

    assert mailer.customer_id is None  # erased while an email about their order went out
    assert kept_before and all(own.order_id in copy["text"] for copy in kept_before)
    assert mailer.outbox.copies == kept_before


def _restock_with_two_waiting(
    deps: Deps, mailer: ErasedWhileSending, erase: str, during: str
) -> str:
    """Two customers wait for a product that comes back; ``erase``'s customer is erased as
    the notice to ``during`` goes out. The product's SKU."""
    sku = f"VUELVE-{uuid.uuid4().hex[:6].upper()}"
    deps.store.put_product(Product(sku=sku, name="Abrigo", price=Money.of("40.00")))
    people = {}
    for address in ("primera@example.com", "segunda@example.com"):
        people[address] = flows.place(deps, customer={"email": address}).customer_id
        opportunities.subscribe_back_in_stock(sku, address, deps)
        deps.clock.advance(seconds=1)  # type: ignore[attr-defined]
    mailer.sent.clear()
    mailer.outbox.copies.clear()
    mailer.customer_id, mailer.while_sending_to = people[erase], during
    receipt = {"sku": sku, "location_id": "WH-GETAFE", "type": "receipt", "quantity": 3}
    inventory.record_movement(RecordMovementRequest.model_validate(receipt), deps)
    return sku


def test_a_subscriber_erased_while_a_restock_tells_others_is_not_told() -> None:
    """A re-probe: subscribers erased while a restock told its batch still got the notice,
    and its copy stayed in the outbox (the batch's list was read before the erasure)."""
    deps, mailer = _racing_deps()
    _restock_with_two_waiting(deps, mailer, "segunda@example.com", "primera@example.com")

    assert mailer.customer_id is None  # erased while the first notice went out
    assert [m["to"] for m in mailer.sent] == ["primera@example.com"]
    assert mailer.outbox.recipients == ["primera@example.com"]


def test_no_copy_of_a_notice_sent_as_its_subscriber_was_erased_is_kept() -> None:
    deps, mailer = _racing_deps()
    _restock_with_two_waiting(deps, mailer, "segunda@example.com", "segunda@example.com")

    assert mailer.customer_id is None
    assert [m["to"] for m in mailer.sent] == ["primera@example.com", "segunda@example.com"]
    assert mailer.outbox.recipients == ["primera@example.com"]


def _prove_email(deps: Deps, mailer: ErasedWhileSending, address: str) -> str:
    verification.send_code(address, None, deps, sender="test-client")
    (text,) = [m["parts"] for m in mailer.sent if m["to"] == address][-1:]
    match = re.search(r"Your Orquesta code is (\d{6})", text)
    assert match is not None
    return verification.confirm_code(address, None, match.group(1), deps).resolution.customer_id


def test_the_copies_of_emails_about_an_order_split_off_an_erased_record_are_kept() -> None:
    """Re-probe 197: Ana ordered with her email beside Bruno's proven phone and proved her
    email; once Bruno was erased, every later email about her order left no copy (the
    check read the record the order was placed on, Bruno's)."""
    deps, mailer = _racing_deps()
    phone, address = "+34600999888", "ana.propia@example.com"
    bruno = flows.place(deps, customer={"phone": phone, "name": "Bruno"}).customer_id
    assert bruno is not None
    anas = flows.reserved(deps, customer={"email": address, "phone": phone, "name": "Ana"})
    assert anas.customer_id == bruno and anas.customer_unvouched
    assert _prove_email(deps, mailer, address) != bruno
    customer_records.erase_customer(bruno, "ops", "ops", deps)
    mailer.outbox.copies.clear()

    flows.mail_everything(deps)

    told = [m for m in mailer.sent if m["to"] == address and anas.order_id in m["parts"]]
    assert told and mailer.outbox.recipients.count(address) == len(told)
