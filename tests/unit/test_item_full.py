"""How DynamoDB says a write would make an item larger than 400 KB, in each form, read as
``ItemFull``; any other refusal is not."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb.table import item_full

TOO_LARGE = "Item size to update has exceeded the maximum allowed size"


def _error(code: str, message: str, reasons: list[dict[str, str]] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": message}}
    if reasons is not None:
        response["CancellationReasons"] = reasons
    return ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        _error("ValidationException", TOO_LARGE),
        _error("ValidationException", "Item size has exceeded the maximum allowed size"),
        # In a transaction on AWS: a cancellation whose reason says it.
        _error(
            "TransactionCanceledException",
            "Transaction cancelled",
            [{"Code": "None"}, {"Code": "ValidationError", "Message": TOO_LARGE}],
        ),
    ],
)
def test_a_write_refused_as_too_large_is_item_full(error: ClientError) -> None:
    assert item_full(error) is not None


@pytest.mark.parametrize(
    "error",
    [
        _error("ValidationException", "One or more parameter values were invalid"),
        _error("ConditionalCheckFailedException", "The conditional request failed"),
        _error(
            "TransactionCanceledException",
            "Transaction cancelled",
            [{"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}],
        ),
    ],
)
def test_any_other_refusal_is_not(error: ClientError) -> None:
    assert item_full(error) is None
