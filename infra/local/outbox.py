"""The local stack's ``Outbox``: the emails ``adaptations.write_outbox`` saved as ``.eml``
files, read back for ``GET /ops/outbox``. On AWS nothing is wired in its place: SES keeps
no copy of what it sent, so the app has no outbox there."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
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
