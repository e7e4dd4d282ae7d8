"""Execution names. An order's first execution is named after the order; execution names
are unique, so each restart has a name of its own: ``<order id>-r<n>`` when ops retry it,
``<order id>-pay<n>`` when the customer pays again after a declined card."""

from __future__ import annotations

import re

# What a restart adds to the order id (order ids have no hyphen: ``ord_<hex>``).
_RESTART_SUFFIX = re.compile(r"-(?:r|pay)\d+$")


def ops_retry_name(order_id: str, attempt: int) -> str:
    """The name of an order's ``attempt``-th retry by ops."""
    return f"{order_id}-r{attempt}"


def payment_retry_name(order_id: str, attempt: int) -> str:
    """The name of the execution that carries an order on after the customer's
    ``attempt``-th payment after a declined card."""
    return f"{order_id}-pay{attempt}"


def order_of_execution(name: str) -> str:
    """The order an execution runs: its name, less a restart's suffix."""
    return _RESTART_SUFFIX.sub("", name)
