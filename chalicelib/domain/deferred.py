"""The base of the app's models: each builds its validator and serializer at its first use.

Every function of the package imports all of ``app`` (its handler is an attribute of it),
so a cold start imported every model of every route, step and subscriber, and pydantic
built each one's validator and serializer at class creation, though a workflow step uses
the order and a few events, and the API one route's models per request. ``defer_build``
builds a model's schema at its first use instead (validation, serialisation,
``model_json_schema``): each function pays for the models it uses. Pydantic rebuilds under a
lock, so the local stack's threads may share a model's first use.

The fields are still collected at class creation (pydantic defers only the build), and an
annotation kept as text costs pydantic a compile and an eval per field there: the modules
that define models leave out ``from __future__ import annotations`` (a name defined further
down, or imported only for type checking, is quoted), which spares a cold start about 1,300
of them (docs/performance.md, "Cold import, fifth round").
"""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema


class DeferredModel(BaseModel):
    """A model whose schema is built at its first use, not when its module is imported."""

    model_config = ConfigDict(defer_build=True)


def _as_orders_write_it(at: datetime) -> str:
    return at.isoformat()


# A moment written as the order writes its promises (``isoformat``: ``+00:00``), not as
# pydantic writes a datetime (``Z``): a quote's or the product page's promise is the
# order's to the letter, so an integrator comparing the texts finds them equal (probe 190:
# "...Z" on the quote, "...+00:00" on the order it became).
Promise = Annotated[
    datetime,
    PlainSerializer(_as_orders_write_it, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
