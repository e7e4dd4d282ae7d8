"""The sandbox payment gateway: tokens as the API documents, a real ledger in DynamoDB.

Each payment is one item, ``SANDBOXPAY#<payment id>`` / ``LEDGER``, written with a
version condition, so that every Lambda and process sees the same ledger and two callers
can never both move the same money. The payment id is derived from the order and the card
and its ledger is written only if absent, so an order is authorised once per card: a
retried authorisation finds the first payment, and paying again with a new card after a
decline makes a new one.

Tokens: ``tok_declined`` is declined (the payment id is kept), ``tok_unavailable`` never
answers. ``tok_refund_flaky`` and ``tok_void_flaky`` fail their first two refund or void
attempts as unavailable; ``tok_reply_lost`` performs the first capture and then loses the
reply. Every other token is approved. The gateway refuses to capture or void more than
is left of the authorisation and to refund more than was captured.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import error_code, from_item, to_item
from chalicelib.domain.errors import (
    NotFound,
    PaymentDeclined,
    PaymentGatewayUnavailable,
    PaymentRefused,
)
from chalicelib.domain.money import Money

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from chalicelib.adapters.dynamodb.keys import Key

DECLINED_TOKEN = "tok_declined"
UNAVAILABLE_TOKEN = "tok_unavailable"
REFUND_FLAKY_TOKEN = "tok_refund_flaky"
VOID_FLAKY_TOKEN = "tok_void_flaky"
REPLY_LOST_TOKEN = "tok_reply_lost"
# Attempts the flaky tokens fail before they succeed.
FLAKY_FAILURES = 2
_WRITE_ATTEMPTS = 8


class SandboxPaymentGateway:
    """``PaymentGateway`` for demos and tests, with a ledger readable by ops."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # The port ----------------------------------------------------------------------------
    def authorize(self, order_id: str, amount: Money, token: str) -> str:
        """Hold ``amount``; one payment per order and card, however often asked."""
        if token == UNAVAILABLE_TOKEN:
            raise PaymentGatewayUnavailable("the payment gateway did not answer")
        payment_id = keys.sandbox_payment_id(order_id, token)
        existing = self._get(keys.sandbox_ledger(payment_id))
        if existing is not None:
            if json.loads(str(existing["doc"]))["declined"]:
                raise PaymentDeclined(
                    "the card was declined", field="payment.token", payment_id=payment_id
                )
            return payment_id
        declined = token == DECLINED_TOKEN
        ledger = {
            "payment_id": payment_id,
            "order_id": order_id,
            "token": token,
            "currency": amount.currency,
            "declined": declined,
            "operations": [] if declined else [_operation("authorize", amount, "authorize")],
            "keys": {},
            "faults": {},
        }
        try:
            # The payment id is the order's and card's, so the ledger's own condition makes
            # one payment per order and card: one write, where a claim item and the ledger
            # in a transaction billed two items twice.
            self._client.put_item(
                TableName=self._table,
                Item=self._ledger_item(ledger, 1),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return self.authorize(order_id, amount, token)  # a racing call authorised first
        if declined:
            raise PaymentDeclined(
                "the card was declined", field="payment.token", payment_id=payment_id
            )
        return payment_id

    def capture(self, payment_id: str, amount: Money, key: str) -> str:
        """Take ``amount`` once per ``key``."""
        return self._operate(payment_id, "capture", amount, key)

    def void(self, payment_id: str, amount: Money, key: str) -> str:
        """Release ``amount`` once per ``key``."""
        return self._operate(payment_id, "void", amount, key)

    def refund(self, payment_id: str, amount: Money, key: str) -> str:
        """Give back ``amount`` once per ``key``."""
        return self._operate(payment_id, "refund", amount, key)

    # The ledger --------------------------------------------------------------------------
    def ledger(self, payment_id: str) -> dict[str, Any]:
        """The payment's ledger; ``NotFound`` for an unknown id."""
        item = self._get(keys.sandbox_ledger(payment_id))
        if item is None:
            raise NotFound(f"no payment {payment_id}", field="payment_id")
        ledger: dict[str, Any] = json.loads(str(item["doc"]))
        ledger["version"] = int(item["version"])
        return ledger

    def statement(self, payment_id: str) -> dict[str, Any]:
        """What ``GET /sandbox/payments/{payment_id}`` shows."""
        ledger = self.ledger(payment_id)
        currency = ledger["currency"]
        totals = {kind: Decimal(0) for kind in ("authorize", "capture", "refund", "void")}
        for op in ledger["operations"]:
            totals[op["type"]] += Decimal(op["amount"])

        def money(value: Decimal) -> dict[str, str]:
            return Money.of(value, currency).model_dump(mode="json")

        return {
            "payment_id": payment_id,
            "authorized": money(totals["authorize"]),
            "captured": money(totals["capture"]),
            "refunded": money(totals["refund"]),
            "voided": money(totals["void"]),
            "operations": [
                {
                    "type": op["type"],
                    "amount": money(Decimal(op["amount"])),
                    "at": op["at"],
                    "key": op["key"],
                }
                for op in ledger["operations"]
            ],
        }

    def _operate(self, payment_id: str, kind: str, amount: Money, key: str) -> str:
        for _ in range(_WRITE_ATTEMPTS):
            try:
                ledger = self.ledger(payment_id)
            except NotFound as unknown:
                # Refused, as a real gateway answers an authorisation it no longer holds
                # (expired): settlement counts it and alerts ops when it keeps failing
                # (probe 249: a NotFound went uncounted, retried by every sweep).
                raise PaymentRefused(f"the gateway knows no payment {payment_id}") from unknown
            if key in ledger["keys"]:
                return str(ledger["keys"][key])  # done before: the first answer, nothing more
            faults: dict[str, int] = ledger["faults"]
            token = ledger["token"]
            flaky = {"refund": REFUND_FLAKY_TOKEN, "void": VOID_FLAKY_TOKEN}.get(kind)
            if token == flaky and faults.get(kind, 0) < FLAKY_FAILURES:
                faults[kind] = faults.get(kind, 0) + 1
                if self._save(ledger):
                    raise PaymentGatewayUnavailable(f"the gateway did not answer the {kind}")
                continue
            self._check(ledger, kind, amount)
            operation = _operation(kind, amount, key)
            ledger["operations"].append(operation)
            ledger["keys"][key] = operation["id"]
            lose_reply = kind == "capture" and token == REPLY_LOST_TOKEN
            lose_reply = lose_reply and not faults.get("reply_lost")
            if lose_reply:
                faults["reply_lost"] = 1
            if not self._save(ledger):
                continue
            if lose_reply:
                # Done at the gateway, but the caller never hears it: it must retry with
                # the same key and get this capture back, not a second one.
                raise PaymentGatewayUnavailable("the gateway's reply to the capture was lost")
            return str(operation["id"])
        raise PaymentGatewayUnavailable("the payment is too busy; try again")

    @staticmethod
    def _check(ledger: dict[str, Any], kind: str, amount: Money) -> None:
        if ledger["declined"]:
            raise PaymentRefused(f"payment {ledger['payment_id']} was declined")
        if amount.currency != ledger["currency"]:
            raise PaymentRefused(f"payment {ledger['payment_id']} is in {ledger['currency']}")
        totals = {k: Decimal(0) for k in ("authorize", "capture", "refund", "void")}
        for op in ledger["operations"]:
            totals[op["type"]] += Decimal(op["amount"])
        if kind in ("capture", "void"):
            left = totals["authorize"] - totals["capture"] - totals["void"]
            if amount.amount > left:
                raise PaymentRefused(
                    f"cannot {kind} {amount.amount}: {left} left of the authorisation"
                )
        elif amount.amount > totals["capture"] - totals["refund"]:
            raise PaymentRefused(
                f"cannot refund {amount.amount}: {totals['capture'] - totals['refund']} "
                "captured and not refunded"
            )

    def _ledger_item(self, ledger: dict[str, Any], version: int) -> dict[str, Any]:
        doc = {k: v for k, v in ledger.items() if k != "version"}
        return to_item(
            {
                **keys.sandbox_ledger(ledger["payment_id"]),
                "version": version,
                "doc": json.dumps(doc, separators=(",", ":")),
            }
        )

    def _save(self, ledger: dict[str, Any]) -> bool:
        """Write the ledger if nobody wrote it since it was read."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._ledger_item(ledger, ledger["version"] + 1),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues=to_item({":expected": ledger["version"]}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def _get(self, key: Key) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(dict(key)), ConsistentRead=True
        )
        return from_item(response["Item"]) if "Item" in response else None


def _operation(kind: str, amount: Money, key: str) -> dict[str, str]:
    return {
        "id": f"{kind[:3]}_{uuid.uuid4().hex[:16]}",
        "type": kind,
        "amount": str(amount.amount),
        "key": key,
        "at": datetime.now(UTC).isoformat(),
    }
