"""``AlertLog``: ops alerts listed newest first, a page at a time, on the fake and on
DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.alerts import AlertStatus, OpsAlert, new_alert_id
from tests.contract.conftest import dynamodb_table
from tests.fakes.outside import FakeAlertLog

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["fake", pytest.param("dynamodb", marks=pytest.mark.moto)])
def log(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "fake":
        yield FakeAlertLog()
        return
    from chalicelib.adapters.alerts import DynamoAlertLog

    for client, name in dynamodb_table():
        yield DynamoAlertLog(client, name)


def _recorded(
    log: Any, count: int, order_id: str | None = None, kind: str = "sla_breached"
) -> list[str]:
    """``count`` alerts a minute apart; their ids, newest first."""
    ids = []
    for minute in range(count):
        at = START + timedelta(minutes=minute)
        alert = OpsAlert(
            alert_id=new_alert_id(at), kind=kind, order_id=order_id, at=at, detail=f"#{minute}"
        )
        log.record(alert)
        ids.append(alert.alert_id)
    return ids[::-1]


def _ids(alerts: list[OpsAlert]) -> list[str]:
    return [a.alert_id for a in alerts]


def test_pages_read_on_from_the_last_alert_of_the_page_before(log: Any) -> None:
    newest_first = _recorded(log, 5)

    first = log.list(None, None, 2)
    second = log.list(None, None, 2, before=first[-1].alert_id)
    last = log.list(None, None, 2, before=second[-1].alert_id)

    assert _ids(first) + _ids(second) + _ids(last) == newest_first
    assert log.list(None, None, 2, before=last[-1].alert_id) == []


@pytest.mark.parametrize("scope", ["open", "order"])
def test_a_page_of_the_open_ones_or_of_an_order_reads_on_the_same_way(log: Any, scope: str) -> None:
    order_id = "ord_paged" if scope == "order" else None
    newest_first = _recorded(log, 4, order_id=order_id)
    status = AlertStatus.OPEN if scope == "open" else None

    first = log.list(order_id, status, 3)
    rest = log.list(order_id, status, 3, before=first[-1].alert_id)

    assert _ids(first) + _ids(rest) == newest_first


def test_a_page_starts_after_an_alert_no_longer_among_those_listed(log: Any) -> None:
    """The last open alert of a page may be resolved before ops ask for the next one."""
    newest_first = _recorded(log, 4)
    first = log.list(None, AlertStatus.OPEN, 2)
    log.resolve(first[-1].alert_id, "ops:test", None, START + timedelta(hours=1))

    rest = log.list(None, AlertStatus.OPEN, 2, before=first[-1].alert_id)

    assert _ids(rest) == newest_first[2:]


def test_a_filtered_page_is_filled_from_older_alerts(log: Any) -> None:
    newest, middle, oldest = _recorded(log, 3)
    for alert_id in (newest, oldest):
        log.resolve(alert_id, "ops:test", None, START + timedelta(hours=1))

    page = log.list(None, AlertStatus.RESOLVED, 1, before=newest)

    assert _ids(page) == [oldest]
    assert _ids(log.list(None, AlertStatus.OPEN, 5, before=newest)) == [middle]
