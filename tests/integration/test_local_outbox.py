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


def test_forgetting_a_phone_deletes_only_the_text_messages_sent_to_it(tmp_path: Path) -> None:
    # Found by a probe: an erased phone's verification codes stayed in the outbox.
    outbox = EmlOutbox(tmp_path)
    erased = tmp_path / "erased.sms.txt"
    erased.write_text("To: +34655000111\n\nTu código es 123456.\n", encoding="utf-8")
    other = tmp_path / "other.sms.txt"
    other.write_text("To: +34655000112\n\nTu código es 654321.\n", encoding="utf-8")
    mentions = tmp_path / "mentions.sms.txt"
    mentions.write_text("To: +34600000000\n\nLlama al +34655000111.\n", encoding="utf-8")

    assert outbox.forget({"+34655000111"}) == 1

    assert not erased.exists() and other.exists() and mentions.exists()


def test_forgetting_an_order_deletes_the_emails_naming_it_whoever_they_went_to(
    tmp_path: Path,
) -> None:
    outbox = EmlOutbox(tmp_path)
    about = _write(tmp_path, "ord_aaa111 confirmed", "someone@example.com")
    other = _write(tmp_path, "ord_bbb222 confirmed", "someone@example.com")

    assert outbox.forget(set(), ["ord_aaa111"]) == 1

    assert not about.exists() and other.exists()


def test_forgetting_an_order_deletes_the_texts_naming_it_whoever_they_went_to(
    tmp_path: Path,
) -> None:
    # Found by a re-probe: a pick-up code texted to someone else's phone stayed.
    outbox = EmlOutbox(tmp_path)
    about = tmp_path / "about.sms.txt"
    about.write_text("To: +34655000111\n\nOrquesta: ord_aaa111 listo.\n", encoding="utf-8")
    other = tmp_path / "other.sms.txt"
    other.write_text("To: +34655000111\n\nOrquesta: ord_bbb222 listo.\n", encoding="utf-8")

    assert outbox.forget(set(), ["ord_aaa111"]) == 1

    assert not about.exists() and other.exists()


def test_forgetting_a_message_deletes_that_copy_alone(tmp_path: Path) -> None:
    outbox = EmlOutbox(tmp_path)
    sent = _write(tmp_path, "0100-sent", "berta@example.com")
    earlier = _write(tmp_path, "0100-earlier", "berta@example.com")
    text = tmp_path / "0100-text.sms.txt"
    text.write_text("To: +34655000111\n\nYour code\n", encoding="utf-8")
    outside = tmp_path.parent / "outside.eml"
    outside.write_text("not the outbox's", encoding="utf-8")

    assert outbox.forget(set(), messages=["0100-sent", "0100-text", "../outside", ""]) == 2

    assert not sent.exists() and not text.exists()
    assert earlier.exists() and outside.exists()
