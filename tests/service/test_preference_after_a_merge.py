"""A merge keeps the email preference either record chose, and the fewer emails when the
two chose differently (probe 184: a record that chose "essential", merged into one that
chose "all", got every status change at its own address)."""

from __future__ import annotations

from chalicelib.deps import Deps
from chalicelib.domain.email_policy import NotificationPreference, preference_of
from chalicelib.services import customer_records, payment_steps, stock_steps
from chalicelib.services.preferences import set_notifications
from chalicelib.services.step_models import OrderStep
from tests.service import flows


def _record(deps: Deps, email: str, choice: NotificationPreference | None) -> str:
    order = flows.place(deps, customer={"email": email})
    assert order.customer_id is not None
    if choice is not None:
        set_notifications(order.customer_id, choice, deps)
    return order.customer_id


def _subjects_about(deps: Deps, order_id: str) -> list[str]:
    mails = flows.mail_everything(deps)
    return [m["parts"].split("\n", 1)[0] for m in mails if order_id in m["parts"].split("\n")[0]]


def test_a_record_that_chose_essential_is_not_sent_every_status_after_a_merge(
    deps: Deps,
) -> None:
    survivor = _record(deps, "all@example.com", NotificationPreference.ALL)
    merged = _record(deps, "few@example.com", NotificationPreference.ESSENTIAL)

    customer_records.merge_customers(survivor, merged, "ops-client", "ops", deps)

    assert preference_of(deps.customers.profile(survivor)) is NotificationPreference.ESSENTIAL
    order = flows.place(deps, customer={"email": "few@example.com"})
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)
    # The confirmation only: no "received" nor "paid" status email.
    assert len(_subjects_about(deps, order.order_id)) == 1


def test_a_choice_only_the_merged_record_made_is_kept(deps: Deps) -> None:
    survivor = _record(deps, "unset@example.com", None)
    merged = _record(deps, "every@example.com", NotificationPreference.ALL)

    customer_records.merge_customers(survivor, merged, "ops-client", "ops", deps)

    assert preference_of(deps.customers.profile(survivor)) is NotificationPreference.ALL
