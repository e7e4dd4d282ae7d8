"""Imported first by ``app``: pauses Python's cyclic garbage collector while the app imports.

A cold start's import creates about 100,000 objects (modules, classes, pydantic schemas and
validators), and every one of them lives as long as the process. The collector, run by
allocation counts, walked them about 160 times during the import (one a full collection):
about a tenth of ``import app``, finding next to nothing (about 1,100 objects of cycles).
``imported`` freezes what the import made (``gc.freeze``: later collections skip it, so
the requests' own collections stay small) and gives the collector back.
"""

from __future__ import annotations

import gc

_WAS_ENABLED = gc.isenabled()
gc.disable()


def imported() -> None:
    """The app has imported: freeze its objects and collect again as before."""
    gc.freeze()
    if _WAS_ENABLED:
        gc.enable()
