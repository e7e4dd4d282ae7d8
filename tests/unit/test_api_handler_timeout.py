"""The API function's timeout against what waits for it: API Gateway gives up after 29 s,
and an Idempotency-Key's record still in progress after ``IN_PROGRESS_MILLIS`` is taken
over by the next request with that key. A request still running then would run twice
(found by a review: the API function had the steps' 30 s)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chalice.config import Config

from chalicelib.adapters.idempotency import IN_PROGRESS_MILLIS

CONFIG = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
API_GATEWAY_SECONDS = 29


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_the_api_function_ends_before_its_idempotency_record_may_be_taken_over(
    stage: str,
) -> None:
    timeout = Config(chalice_stage=stage, function_name="api_handler", config_from_disk=CONFIG)
    assert timeout.lambda_timeout * 1000 < IN_PROGRESS_MILLIS
    assert timeout.lambda_timeout < API_GATEWAY_SECONDS
    # The workflow's steps keep theirs (their tasks' timeouts are set from it).
    step = Config(chalice_stage=stage, function_name="reserve_stock", config_from_disk=CONFIG)
    assert step.lambda_timeout == CONFIG["lambda_timeout"]
