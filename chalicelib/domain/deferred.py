"""The base of models that only some functions use: the API's requests, answers and views.

Every function of the package imports all of ``app`` (its handler is an attribute of it), so
a workflow step's cold start imported every route's models too, and pydantic built each
one's validator and serializer at class creation: about a seventh of ``import app``.
``defer_build`` builds a model's schema at its first use instead (validation,
serialisation, ``model_json_schema``): each function pays for the models it uses. Pydantic
rebuilds under a lock, so the local stack's threads may share a model's first use.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DeferredModel(BaseModel):
    """A model whose schema is built at its first use, not when its module is imported."""

    model_config = ConfigDict(defer_build=True)
