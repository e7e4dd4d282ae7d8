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


def test_cache_user_agent_strings_builds_a_clients_string_once_per_features(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore import useragent
    from botocore.context import start_as_current_context

    to_string = useragent.UserAgentString.to_string
    assert hasattr(to_string, "__wrapped__"), "botocore's own builder is in place"
    builder = deps.store.table.client._user_agent_creator
    built: list[str] = []
    sdk = useragent.UserAgentString._build_sdk_metadata

    def counting(self: Any) -> Any:
        built.append("sdk")
        return sdk(self)

    monkeypatch.setattr(useragent.UserAgentString, "_build_sdk_metadata", counting)

    def same(expected_builds: int) -> str:
        built.clear()
        text = builder.to_string()
        assert len(built) == expected_builds
        built.clear()
        assert text == to_string.__wrapped__(builder)
        return text

    first = builder.to_string()
    plain = same(0)  # kept
    assert plain == first
    with start_as_current_context():
        useragent.register_feature_id("WAITER")
        with_feature = same(1)  # the context's features changed it
        assert with_feature != plain and same(0) == with_feature
    assert same(1) == plain  # and back
    monkeypatch.setattr(builder, "_session_user_agent_extra", "extra/1")
    extra = same(1)
    assert extra.endswith("extra/1") and same(0) == extra
    monkeypatch.undo()
    assert builder.to_string() == plain
