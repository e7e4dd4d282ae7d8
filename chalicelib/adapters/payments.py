"""The sandbox payment gateway: tokens as the API documents, records in DynamoDB.

``tok_declined`` is declined, ``tok_unavailable`` behaves as a gateway that does not
answer; every other token is approved. Charges and refunds are stored so that a retried
call returns the first result and tests can see what was taken and given back.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import error_code, from_item, to_item
from chalicelib.domain.errors import PaymentDeclined, PaymentGatewayUnavailable
from chalicelib.domain.money import Money

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

DECLINED_TOKEN = "tok_declined"
UNAVAILABLE_TOKEN = "tok_unavailable"


class SandboxPaymentGateway:
    """``PaymentGateway`` for demos and tests."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def charge(self, order_id: str, amount: Money, token: str) -> str:
        """Capture ``amount``; the same order is charged at most once."""
        if token == UNAVAILABLE_TOKEN:
            raise PaymentGatewayUnavailable("the payment gateway did not answer")
        if token == DECLINED_TOKEN:
            raise PaymentDeclined("the card was declined", field="payment.token")
        payment_id = f"pay_{uuid.uuid4().hex[:16]}"
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        "pk": f"PAYMENT#{order_id}",
                        "sk": "CHARGE",
                        "payment_id": payment_id,
                        "amount": str(amount.amount),
                        "currency": amount.currency,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return str(self.charge_of(order_id)["payment_id"])
        return payment_id

    def refund(self, payment_id: str, amount: Money, refund_key: str) -> str:
        """Give back ``amount`` once per ``refund_key``."""
        order_id = refund_key.split(":", 1)[0]
        refund_id = f"ref_{uuid.uuid4().hex[:16]}"
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        "pk": f"PAYMENT#{order_id}",
                        "sk": f"REFUND#{refund_key}",
                        "refund_id": refund_id,
                        "payment_id": payment_id,
                        "amount": str(amount.amount),
                        "currency": amount.currency,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            # Refunded before under this key: answer with that refund, give nothing again.
            stored = self._client.get_item(
                TableName=self._table,
                Key=to_item({"pk": f"PAYMENT#{order_id}", "sk": f"REFUND#{refund_key}"}),
                ConsistentRead=True,
            )
            return str(from_item(stored["Item"])["refund_id"])
        return refund_id

    def charge_of(self, order_id: str) -> dict[str, Any]:
        """The charge recorded for an order (empty if none)."""
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": f"PAYMENT#{order_id}", "sk": "CHARGE"}),
            ConsistentRead=True,
        )
        return from_item(response["Item"]) if "Item" in response else {}

    def refunds_of(self, order_id: str) -> list[dict[str, Any]]:
        """Every refund recorded for an order."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :refund)",
            ExpressionAttributeValues=to_item({":pk": f"PAYMENT#{order_id}", ":refund": "REFUND#"}),
            ConsistentRead=True,
        )
        return [from_item(item) for item in response.get("Items", [])]
