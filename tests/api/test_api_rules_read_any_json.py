"""Every request model whose rules span fields (``input_problems``) reads them on the input
as sent, before its fields are checked: whatever JSON is in any field, validation refuses it
(a ``ValidationError``, a 422) or takes it, and never fails otherwise. Probe 201: a
promotion's ``kind`` sent as a list was a 500 once its rule read it."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import chalicelib.api.customer_models
import chalicelib.api.customers
import chalicelib.domain.promotion_requests
import chalicelib.domain.quote_requests
import chalicelib.domain.requests  # noqa: F401 - each module's models are looked for
from chalicelib.domain.requests import RuleChecked

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _with_rules() -> list[type[RuleChecked]]:
    found: list[type[RuleChecked]] = []
    pending = list(RuleChecked.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if "input_problems" in vars(model):
            found.append(model)
    return sorted(found, key=lambda model: model.__name__)


MODELS = _with_rules()


def test_the_models_with_rules_are_found() -> None:
    names = {model.__name__ for model in MODELS}
    assert {"PlaceOrderRequest", "CreatePromotionRequest", "RecordMovementRequest"} <= names


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_json_in_any_field_is_taken_or_refused_never_a_failure(
    model: type[RuleChecked], data: Any
) -> None:
    names = [info.alias or name for name, info in model.model_fields.items()]
    body = data.draw(st.fixed_dictionaries({}, optional=dict.fromkeys(names, JSON)))
    with contextlib.suppress(ValidationError):
        model.model_validate(body)
