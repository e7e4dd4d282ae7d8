"""The customer's page rendered without the HTTP layer, for tests of what it shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.customer_actions import available_actions, facts_of
from chalicelib.domain.orders import Order
from chalicelib.presentation.track_forms import FormNotice
from chalicelib.presentation.tracking_page import tracking_page
from chalicelib.rendering import render

# What api/tracking.py passes for the page's forms, with fixed values.
FORMS = {"base": "v1.k1.0.ord_1.sig/forms", "csrf": "k1.c5rf", "key": "k3y"}


def tracking_html(
    order: Order,
    now: datetime,
    location_names: dict[str, str] | None = None,
    pickup_stores: dict[str, str] | None = None,
    postal_codes: dict[str, str] | None = None,
    notice: FormNotice | None = None,
) -> str:
    """``tracking.html.j2`` for ``order`` as its customer sees it at ``now``."""
    actions = available_actions(facts_of(order), now)
    view: dict[str, Any] = tracking_page(
        order, actions, location_names or {}, now, pickup_stores or {}, postal_codes
    )
    return render(
        "tracking.html.j2",
        view=view,
        nonce="n0nce",
        script="",
        forms=FORMS,
        notice=notice,
        field_words={},
        survey_url=None,
    )
