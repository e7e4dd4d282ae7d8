"""The one Jinja environment: the customer emails, the tracking page and the ops console are
rendered from ``chalicelib/templates`` with the same setup."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """HTML templates (``*.html.j2``) are autoescaped, text ones are not; a name missing from
    the context is an error rather than an empty string in a customer's email."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


def render(template: str, **context: Any) -> str:
    """One template rendered with this context."""
    return environment().get_template(template).render(context)
