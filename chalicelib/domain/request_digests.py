"""A request's body as an Idempotency-Key compares it, hashed, to keep beside what the
request created: it outlives the key's record (48 h) without keeping the body."""

import hashlib
import json

from pydantic import BaseModel


def request_digest(request: BaseModel) -> str:
    """The digest of the request's fields (however its JSON was written: the record compares
    the parsed body too)."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]
