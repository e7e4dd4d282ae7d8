"""API.md part two: "every rule JSON Schema can express is in the schema". The answers'
money, taxes and quoted parts keep rules API.md fixes (every amount a 2-decimal string,
the tax one of IVA|IGIC|IPSI|none, a part ship|pickup): a probe found them plain strings
(and an amount a number or any string), so a response breaking them passed every check."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest


def _validator(document: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize(
    ("amount", "valid"),
    [
        ("12.50", True),
        ("0.00", True),
        ("-39.90", True),
        ("1234567.05", True),
        ("12.5", False),
        (12.5, False),
        ("12", False),
        ("1e3", False),
        (" 1.00", False),
    ],
)
def test_every_amount_is_a_two_decimal_string(
    document: dict[str, Any], amount: Any, valid: bool
) -> None:
    money = _validator(document, "Money")
    assert money.is_valid({"amount": amount, "currency": "EUR"}) is valid
    assert not money.is_valid({"amount": "1.00", "currency": "euro"})


@pytest.mark.parametrize("schema", ["TaxResponse", "OrderTaxResponse"])
def test_a_tax_is_named_as_api_md_names_them(document: dict[str, Any], schema: str) -> None:
    tax = _validator(document, schema)
    shown = {"rate": "0.07", "amount": {"amount": "3.50", "currency": "EUR"}, "included": False}
    for name in ("IVA", "IGIC", "IPSI", "none"):
        assert tax.is_valid(shown | {"name": name})
    assert not tax.is_valid(shown | {"name": "VAT"})
    assert not tax.is_valid(shown | {"name": "IGIC", "rate": "7 %"})


def test_a_quoted_part_is_a_shipment_or_a_pickup(document: dict[str, Any]) -> None:
    part = _validator(document, "QuotedFulfillmentResponse")
    quoted = {
        "location_id": "WH-GETAFE",
        "carrier": "rapido",
        "lines": [{"sku": "MUG-WHT", "quantity": 1}],
        "promised_by": "2026-12-10T19:00:00Z",
    }
    assert part.is_valid(quoted | {"type": "ship"})
    assert part.is_valid(quoted | {"type": "pickup"})
    assert not part.is_valid(quoted | {"type": "drone"})


def test_the_sandbox_ledger_shows_money_and_its_operations_by_name(
    document: dict[str, Any],
) -> None:
    # API.md: the ledger's amounts are money, its operations authorize|capture|refund|void.
    ledger = _validator(document, "SandboxPaymentResponse")
    zero = {"amount": "0.00", "currency": "EUR"}
    shown = {
        "payment_id": "pay_1",
        "authorized": {"amount": "19.95", "currency": "EUR"},
        "captured": zero,
        "refunded": zero,
        "voided": zero,
        "operations": [
            {
                "type": "authorize",
                "amount": {"amount": "19.95", "currency": "EUR"},
                "at": "2026-12-05T22:00:00+00:00",
                "key": "ord_1:authorize",
            }
        ],
    }
    assert ledger.is_valid(shown)
    assert not ledger.is_valid(shown | {"captured": {"amount": "0", "currency": "EUR"}})
    renamed = [shown["operations"][0] | {"type": "charge"}]
    assert not ledger.is_valid(shown | {"operations": renamed})
