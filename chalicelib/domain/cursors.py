"""Page cursors: the parts a page ended on, as URL-safe base64 of a JSON list. Opaque to
clients, and read back only as the list of parts it was made from: anything else,
deeply nested JSON included (a probe's 500), is ``InvalidCursor``."""

from __future__ import annotations

import base64
import json
from typing import Any

from chalicelib.domain.errors import InvalidCursor


def encode_cursor_parts(*parts: str) -> str:
    """The cursor of these parts."""
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


def decode_cursor_parts(cursor: str, count: int) -> list[Any]:
    """The ``count`` parts a cursor of ``encode_cursor_parts`` holds (not checked further:
    each caller knows what its parts must be); ``InvalidCursor`` for anything else."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidCursor("not a cursor from this API", field="cursor") from exc
    if not isinstance(parts, list) or len(parts) != count:
        raise InvalidCursor("not a cursor from this API", field="cursor")
    return parts
