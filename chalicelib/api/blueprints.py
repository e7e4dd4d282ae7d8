"""Every blueprint the app registers, in one list (app.py stays the thin entry point)."""

from __future__ import annotations

from chalicelib.api.alerts import alerts
from chalicelib.api.availability import availability
from chalicelib.api.care import care
from chalicelib.api.carriers import carriers
from chalicelib.api.catalog import catalog
from chalicelib.api.console import console
from chalicelib.api.customers import customers
from chalicelib.api.inventory import inventory
from chalicelib.api.openapi import openapi
from chalicelib.api.opportunities import opportunities
from chalicelib.api.ops import ops
from chalicelib.api.orders import orders
from chalicelib.api.promotions import promotions
from chalicelib.api.quotes import quotes
from chalicelib.api.sandbox import sandbox
from chalicelib.api.self_service import track_actions
from chalicelib.api.surveys import surveys
from chalicelib.api.track_forms import track_forms
from chalicelib.api.tracking import tracking

BLUEPRINTS = (
    orders,
    carriers,
    catalog,
    inventory,
    customers,
    care,
    ops,
    alerts,
    console,
    tracking,
    surveys,
    opportunities,
    track_actions,
    track_forms,
    openapi,
    sandbox,
    availability,
    quotes,
    promotions,
)
