"""Every wait is scaled by ``Settings.waits``: the rules services rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.config import Settings


def test_waits_divide_by_the_time_scale_and_step_functions_waits_are_whole_seconds() -> None:
    waits = Settings(time_scale=3600, return_window_days=30, lost_parcel_days=2).waits
    assert waits.seconds(7200) == 2
    assert waits.seconds(10) == 1  # a wait is never zero seconds
    assert waits.return_window_seconds == 30 * 24
    assert waits.lost_parcel_seconds == 48
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert waits.deadline(start, 7200) == start + timedelta(seconds=2)
    assert waits.duration(timedelta(hours=1, seconds=36)) == timedelta(seconds=1.01)


def test_the_handling_pause_may_be_none() -> None:
    assert Settings(time_scale=10, handling_seconds=5).waits.handling_seconds == 0
    assert Settings(time_scale=1, handling_seconds=5).waits.handling_seconds == 5


def test_waits_follow_a_scale_changed_on_the_fly() -> None:
    settings = Settings(time_scale=1)
    settings.time_scale = 86400
    assert settings.waits.seconds(2 * 86400) == 2
