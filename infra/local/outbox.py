"""The local stack's ``Outbox``: the emails ``adaptations.write_outbox`` saved as ``.eml``
files, read back for ``GET /ops/outbox``. On AWS nothing is wired in its place: SES keeps
no copy of what it sent, so the app has no outbox there."""

from __future__ import annotations

import email
import email.parser
import email.policy
from collections.abc import Collection
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

PREVIEW_CHARS = 600


class EmlOutbox:
    """``chalicelib.ports.Outbox`` over a folder of ``<message id>.eml`` files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` emails, newest first."""
        if not self.directory.is_dir():
            return []
        files = sorted(
            self.directory.glob("*.eml"), key=lambda path: path.stat().st_mtime, reverse=True
        )
        rows = []
        for path in files[:limit]:
            try:
                rows.append(self._row(path))
            except (OSError, ValueError):
                continue  # written while we read it: it shows up on the next look
        return rows

    def forget(
        self, addresses: set[str], orders: Collection[str] = (), messages: Collection[str] = ()
    ) -> int:
        """Delete every email whose recipients include one of ``addresses`` (compared in
        lower case) or that names one of ``orders`` (in its subject or its text), and
        every text message (``.sms.txt``, its first line ``To: <phone>``) sent to one of
        the addresses or naming one of the orders; and the messages with these ids (the
        files are named after them); returns how many were deleted."""
        if not self.directory.is_dir():
            return 0
        deleted = self._forget_messages(messages)
        if not addresses and not orders:
            return deleted  # by id alone: no file need be read
        wanted = {address.strip().lower() for address in addresses}
        deleted += self._forget_texts(wanted, orders)
        for path in self.directory.glob("*.eml"):
            try:
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            except OSError:
                continue  # deleted meanwhile
            recipients = getaddresses(
                [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
            )
            if any(address.lower() in wanted for _, address in recipients) or (
                orders and _names_any(message, orders)
            ):
                path.unlink(missing_ok=True)
                deleted += 1
        return deleted

    def _forget_messages(self, messages: Collection[str]) -> int:
        deleted = 0
        for message_id in messages:
            if not message_id or "/" in message_id or message_id.startswith("."):
                continue  # an id, never a path
            for path in (
                self.directory / f"{message_id}.eml",
                self.directory / f"{message_id}.sms.txt",
            ):
                if path.exists():
                    path.unlink(missing_ok=True)
                    deleted += 1
        return deleted

    def _forget_texts(self, wanted: set[str], orders: Collection[str]) -> int:
        deleted = 0
        for path in self.directory.glob("*.sms.txt"):
            try:
                first, _, text = path.read_text(encoding="utf-8").partition("\n")
            except OSError:
                continue  # deleted meanwhile
            to_them = first.startswith("To:") and first[3:].strip().lower() in wanted
            if to_them or any(order_id in text for order_id in orders):
                path.unlink(missing_ok=True)
                deleted += 1
        return deleted

    @staticmethod
    def _row(path: Path) -> dict[str, Any]:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        sent = message["Date"]
        sent_at = (
            parsedate_to_datetime(str(sent))
            if sent
            else datetime.fromtimestamp(path.stat().st_mtime, UTC)
        )
        text = message.get_body(preferencelist=("plain",))
        preview = str(text.get_content()).strip()[:PREVIEW_CHARS] if text is not None else ""
        return {
            "message_id": path.stem,
            "from": str(message["From"] or ""),
            "to": str(message["To"] or ""),
            "subject": str(message["Subject"] or ""),
            "sent_at": sent_at.isoformat(),
            "preview": preview,
            "file": str(path),
        }


def _names_any(message: Any, orders: Collection[str]) -> bool:
    """Whether an email's subject or plain text names one of ``orders``."""
    text = message.get_body(preferencelist=("plain",))
    words = str(message["Subject"] or "") + (str(text.get_content()) if text is not None else "")
    return any(order_id in words for order_id in orders)
