"""The bench's cost meter follows AWS's billing rules: index writes, memory, prices."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import billing, lambda_cost, meters, order_figures, solo

CONFIG = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())


def _index(projection: str, keys: tuple[str, str] = ("due_day", "due_at"), **extra: Any) -> Any:
    return SimpleNamespace(
        name="by-due",
        schema_key_attrs=list(keys),
        table_key_attrs=["pk", "sk"],
        projection={"ProjectionType": projection, **extra},
    )


def _item(**attrs: str) -> dict[str, Any]:
    return {name: {"S": value} for name, value in ({"pk": "P", "sk": "S"} | attrs).items()}


INDEXED = _item(due_day="2026-12-01", due_at="2026-12-01T10:00")


def test_a_write_of_an_item_never_in_the_index_costs_the_index_nothing() -> None:
    assert billing.index_write_units(_index("ALL"), None, _item(other="x")) == 0
    assert billing.index_write_units(_index("ALL"), _item(other="x"), _item(other="y")) == 0
    assert billing.index_write_units(_index("ALL"), _item(other="x"), None) == 0


def test_an_item_that_gains_the_index_key_is_one_put_per_kb_projected() -> None:
    big = INDEXED | {"blob": {"S": "x" * 1500}}
    assert billing.index_write_units(_index("ALL"), None, INDEXED) == 1
    assert billing.index_write_units(_index("ALL"), _item(), big) == 2
    # KEYS_ONLY projects the keys only: the blob is not in the index.
    assert billing.index_write_units(_index("KEYS_ONLY"), _item(), big) == 1


def test_an_item_that_loses_the_index_key_is_one_delete() -> None:
    big = INDEXED | {"blob": {"S": "x" * 3000}}
    assert billing.index_write_units(_index("ALL"), big, _item()) == 1
    assert billing.index_write_units(_index("ALL"), big, None) == 1


def test_a_changed_index_key_is_a_delete_and_a_put() -> None:
    moved = INDEXED | {"due_at": {"S": "2026-12-01T11:00"}}
    assert billing.index_write_units(_index("KEYS_ONLY"), INDEXED, moved) == 2


def test_unchanged_keys_cost_a_put_only_when_a_projected_attribute_changes() -> None:
    changed = INDEXED | {"status": {"S": "DELIVERED"}}
    assert billing.index_write_units(_index("ALL"), INDEXED, changed) == 1
    assert billing.index_write_units(_index("KEYS_ONLY"), INDEXED, changed) == 0
    including = _index("INCLUDE", NonKeyAttributes=["status"])
    assert billing.index_write_units(including, INDEXED, changed) == 1
    assert billing.index_write_units(_index("ALL"), INDEXED, dict(INDEXED)) == 0


def test_snapshots_copy_moto_values_so_a_later_update_cannot_change_them() -> None:
    class Value:
        def __init__(self, text: str) -> None:
            self.text = text

        def to_json(self) -> dict[str, str]:
            return {"S": self.text}

    item = SimpleNamespace(attrs={"pk": Value("P")})
    copied = billing.snapshot_attrs(item)
    item.attrs["pk"].text = "changed"
    assert copied == {"pk": {"S": "P"}}
    assert billing.snapshot_attrs(None) is None


def test_memory_follows_chalices_order_of_stage_function_and_app() -> None:
    config = {
        "lambda_memory_size": 512,
        "lambda_functions": {"slow": {"lambda_memory_size": 256}},
        "stages": {
            "prod": {
                "lambda_memory_size": 1024,
                "lambda_functions": {"fast": {"lambda_memory_size": 2048}},
            },
            "dev": {},
        },
    }
    assert lambda_cost.memory_mb("prod", "fast", config) == 2048
    assert lambda_cost.memory_mb("prod", "slow", config) == 1024
    assert lambda_cost.memory_mb("dev", "slow", config) == 256
    assert lambda_cost.memory_mb("dev", "other", config) == 512
    assert lambda_cost.memory_mb("dev", "other", {}) == 128


def test_gb_seconds_use_the_stages_configured_memory_and_at_least_a_millisecond() -> None:
    steps, step_seconds = {"reserve_stock": 2.0}, {"reserve_stock": 0.5}
    api, api_seconds = {"POST /orders": 1.0}, {}
    dev = lambda_cost.gb_seconds(steps, step_seconds, api, api_seconds, "dev")
    prod = lambda_cost.gb_seconds(steps, step_seconds, api, api_seconds, "prod")
    dev_mb = lambda_cost.memory_mb("dev", "reserve_stock", CONFIG)
    prod_mb = lambda_cost.memory_mb("prod", "reserve_stock", CONFIG)
    assert dev == (0.5 + 0.001) * dev_mb / 1024
    assert prod == (0.5 + 0.001) * prod_mb / 1024


def test_prices_are_todays_dynamodb_on_demand_list_prices() -> None:
    assert order_figures.DDB_PER_WRITE_UNIT * 1_000_000 == 0.625
    assert order_figures.DDB_PER_READ_UNIT * 1_000_000 == 0.125


def test_a_handlers_run_alone_is_the_median_of_its_runs_since_the_mark() -> None:
    meters.record_run("bench_test_step", 9.0)
    marks = meters.run_marks()
    for seconds in (0.10, 0.12, 2.50):  # the last one slowed by another process
        meters.record_run("bench_test_step", seconds)
    meters.record_run("POST /bench-test", 0.04, counter="lambda.api_seconds.")
    medians = solo.median_seconds(meters.runs_since(marks))
    assert medians["bench_test_step"] == 0.12
    assert medians["POST /bench-test"] == 0.04
    assert meters.snapshot()["lambda.api_seconds.POST /bench-test"] >= 0.04


def test_the_benchs_own_calls_are_left_out_of_the_counters() -> None:
    key = "ddb.write.units.PutItem.BENCHTEST"
    before = meters.snapshot().get(key, 0.0)
    with meters.unmetered():
        meters._record_write("PutItem", "BENCHTEST", 1, False)
    assert meters.snapshot().get(key, 0.0) == before
    meters._record_write("PutItem", "BENCHTEST", 1, False)
    assert meters.snapshot().get(key, 0.0) == before + 1
