"""infra/local/speedups.cache_user_agent_components: botocore cleans each User-Agent
component once per process, and the header comes out as it did."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


def _user_agent_of_a_get(deps: Any) -> str:
    client = deps.store.table.client
    sent: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params["headers"]["User-Agent"])

    client.meta.events.register("before-call.dynamodb.GetItem", record)
    try:
        client.get_item(
            TableName=deps.settings.table_name,
            Key={"pk": {"S": f"T-UA#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}},
        )
    finally:
        client.meta.events.unregister("before-call.dynamodb.GetItem", record)
    return sent[0]


def test_cache_user_agent_components_cleans_each_component_once(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore import useragent

    cleaning = useragent.sanitize_user_agent_string_component
    first = _user_agent_of_a_get(deps)
    misses = cleaning.cache_info().misses  # type: ignore[attr-defined]
    again = _user_agent_of_a_get(deps)
    assert cleaning.cache_info().misses == misses  # type: ignore[attr-defined]

    monkeypatch.setattr(useragent, "sanitize_user_agent_string_component", cleaning.__wrapped__)
    uncached = _user_agent_of_a_get(deps)
    assert first == again == uncached
