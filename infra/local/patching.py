"""One registry of the patches applied to moto and the SDKs in this process, so that each
adaptation (``adaptations``) and speed-up (``speedups``) patches once however often the
local stack starts.
"""

from __future__ import annotations

_applied: set[str] = set()


def apply_once(name: str) -> bool:
    """True the first time ``name`` is asked for in this process: each adaptation and
    speed-up patches moto once."""
    if name in _applied:
        return False
    _applied.add(name)
    return True
