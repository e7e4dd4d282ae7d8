"""One registry of the patches applied to moto and the SDKs in this process, so that each
adaptation (``adaptations``) and speed-up (``speedups``) patches once however often the
local stack starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

_applied: set[str] = set()


def apply_once(name: str) -> bool:
    """True the first time ``name`` is asked for in this process: each adaptation and
    speed-up patches moto once."""
    if name in _applied:
        return False
    _applied.add(name)
    return True


def argument_reader(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A function that reads argument ``name`` of a call to ``function`` from the call's
    positional arguments (``self`` first) and keywords, or None when the call leaves it out:
    what ``inspect.signature(function).bind(...).arguments.get(name)`` answers, without
    binding every argument of the call (a wrapper of moto's query binds it per request)."""
    position = list(inspect.signature(function).parameters).index(name)

    def read(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if name in kwargs:
            return kwargs[name]
        return args[position] if len(args) > position else None

    return read
