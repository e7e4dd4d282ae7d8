"""The local stack's outbox (the ``Outbox`` port over ``.eml`` files): an erased customer's
emails are forgotten, everybody else's stay."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from infra.local.outbox import EmlOutbox


def _write(directory: Path, name: str, to: str, cc: str | None = None) -> Path:
    message = EmailMessage()
    message["From"] = "Orquesta <orders@orquesta.example>"
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = f"Your order, {name}"
    message.set_content(f"Hello {name}")
    path = directory / f"{name}.eml"
    path.write_bytes(bytes(message))
    return path


def test_forgetting_addresses_deletes_only_the_emails_sent_to_them(tmp_path: Path) -> None:
    outbox = EmlOutbox(tmp_path)
    erased = _write(tmp_path, "erased", "Eva Ruiz <Eva.Ruiz@Example.com>")
    copied = _write(tmp_path, "copied", "someone@example.com", cc="eva.ruiz@example.com")
    other = _write(tmp_path, "other", "Ana <ana@example.com>")
    lookalike = _write(tmp_path, "lookalike", "xeva.ruiz@example.com")

    forgotten = outbox.forget({"eva.ruiz@example.com"})

    assert forgotten == 2
    assert not erased.exists() and not copied.exists()
    assert other.exists() and lookalike.exists()
    assert {row["message_id"] for row in outbox.recent(10)} == {"other", "lookalike"}
    assert outbox.forget({"eva.ruiz@example.com"}) == 0


def test_an_outbox_that_was_never_written_forgets_nothing(tmp_path: Path) -> None:
    assert EmlOutbox(tmp_path / "missing").forget({"eva@example.com"}) == 0
