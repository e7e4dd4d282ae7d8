"""The one Jinja environment: the customer emails, the tracking page and the ops console are
rendered from ``chalicelib/templates`` with the same setup. Scripts live apart, under
``chalicelib/static``, and are inlined into a page's nonce'd ``<script>`` element."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """HTML templates (``*.html.j2``) are autoescaped, text ones are not; a name missing from
    the context is an error rather than an empty string in a customer's email."""
    # Imported here: only the functions that email or serve a page render, and every
    # function's cold start imports this module (bench/cold_import.py).
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


def render(template: str, **context: Any) -> str:
    """One template rendered with this context."""
    return environment().get_template(template).render(context)


@lru_cache(maxsize=8)
def inline_script(*names: str) -> Markup:
    """The scripts under ``static``, in this order, as one text to put inside a page's
    ``<script nonce=...>`` (so the page's CSP allows it without a second request)."""
    text = "\n".join((STATIC / name).read_text(encoding="utf-8").rstrip("\n") for name in names)
    if "</script" in text.lower():
        raise ValueError(f"{names}: '</script' would end the inline script early")
    return Markup(text)  # our own files, not data: nothing to escape
