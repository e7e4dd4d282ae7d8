"""Fixtures of the API tests: ``document``, the OpenAPI document the app serves."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def document(client: Any) -> dict[str, Any]:
    response = client.http.get("/openapi.json")
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body
