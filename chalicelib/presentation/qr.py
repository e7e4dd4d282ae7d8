"""The pick-up code as a QR code the store's scanner reads off the customer's phone: an
inline SVG string drawn by segno, in memory (no files, no network, no image library)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import segno

# The quiet zone the QR standard asks for around the symbol, in modules.
QUIET_ZONE = 4
# Pixels per module in the SVG's own coordinates; the page sizes it with CSS.
DEFAULT_SCALE = 4


def pickup_qr(code: str) -> segno.QRCode:
    """The QR symbol of a pick-up code: never a Micro QR (phone and till scanners may not
    read those), error correction at least M and raised as far as the version allows,
    since a phone screen may be cracked or dim."""
    import segno  # only a page with a pick-up ready draws one (cold start)

    return segno.make_qr(code, error="m", boost_error=True)


def pickup_qr_svg(code: str, label: str, scale: int = DEFAULT_SCALE) -> str:
    """The pick-up code as an inline ``<svg>`` element for an HTML page: dark modules on a
    white ground (readable in a dark theme too), a ``viewBox`` and no fixed size so it
    scales to the screen, and ``label`` as its accessible name (``role="img"``, a
    ``<title>``), e.g. "Código de recogida 123456"."""
    svg = pickup_qr(code).svg_inline(
        scale=scale,
        border=QUIET_ZONE,
        dark="#000",
        light="#fff",
        title=label,
        svgclass="pickup-qr",
        lineclass=None,
        omitsize=True,
    )
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
