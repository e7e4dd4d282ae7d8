"""SNS for order events, ops alerts and text messages; SES for customer emails."""

from __future__ import annotations

import json
import re
import uuid
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from chalicelib.domain.customers import email_as_stored

if TYPE_CHECKING:
    from mypy_boto3_ses.client import SESClient
    from mypy_boto3_sns.client import SNSClient


# What would break a header line: control characters, Unicode's line separators.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    """A header's text on one line: a break in it would end the header (Python's email
    refuses it, and the email would never go), so each run of breaks is one space."""
    return " ".join(_BREAKS.sub(" ", text).split())


def literal_subject(text: str) -> str:
    """A Subject that reads as written: one line, and an RFC 2047 encoded word in it
    (``=?utf-8?b?...?=``, typed by a customer into a ticket's subject) kept as text.
    Python's email decodes one when the header is set and writes what it decodes to raw:
    a probe's read "<script>", and one decoding to a line break and "Bcc: ..." wrote a
    header of its own. A word joiner after each ``=`` before ``?`` stops the decoding and
    shows nothing."""
    return one_line(text).replace("=?", "=\u2060?")


def sns_subject(text: str) -> str:
    """What SNS takes as a ``Subject``: ASCII, no line breaks or control characters,
    starting with a letter, digit or punctuation, under 100 characters. Alerts name what
    carriers and customers sent (a tracking number with an emoji), and SNS refuses the
    whole publish for a bad subject."""
    import unicodedata  # only alerts need it: no function's cold start pays for it

    folded = unicodedata.normalize("NFKD", one_line(text)).encode("ascii", "ignore").decode()
    folded = " ".join(folded.split()) or "Orquesta alert"
    return folded[:99]


def ascii_address(address: str) -> str:
    """The address as a header and SES carry it: an internationalised domain in its ASCII
    form. An order keeps the address as the shopper typed it (``ana@exämple.com``), and
    an encoded word in an address reaches nobody (a re-probe)."""
    _, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    # As its identifier is stored (``normalise_email``: NFKC, then IDNA): a domain typed
    # in full-width letters, with a ligature or with a decomposed "ä" is one ``idna`` alone
    # refuses, and such an order's emails went to the address as typed, reaching nobody
    # (re-probe 177).
    return email_as_stored(address)


class SnsEventPublisher:
    """``EventPublisher`` on two SNS topics."""

    def __init__(self, client: SNSClient, order_events_topic: str, ops_alerts_topic: str) -> None:
        self._client = client
        self._order_events_topic = order_events_topic
        self._ops_alerts_topic = ops_alerts_topic

    def publish(self, event: dict[str, Any]) -> None:
        """Publish an order event; ``type`` and ``status`` are message attributes so
        subscribers can filter (``status`` only on status changes: SNS refuses empty
        attribute values)."""
        attributes: dict[str, Any] = {
            "type": {"DataType": "String", "StringValue": str(event["type"])},
        }
        if event.get("status"):
            attributes["status"] = {"DataType": "String", "StringValue": str(event["status"])}
        self._client.publish(
            TopicArn=self._order_events_topic,
            Message=json.dumps(event, sort_keys=True),
            MessageAttributes=attributes,
        )

    def alert_ops(self, subject: str, message: dict[str, Any]) -> None:
        """Tell ops something needs a person."""
        self._client.publish(
            TopicArn=self._ops_alerts_topic,
            Subject=sns_subject(subject),
            Message=json.dumps(message, sort_keys=True),
        )


class SesMailer:
    """``Mailer`` on SES: one MIME message with a text and an HTML part (``SendRawEmail``)."""

    def __init__(self, client: SESClient, sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, to: str, subject: str, html: str, text: str) -> str:
        """Send one email; returns SES's message id."""
        to = ascii_address(to)
        message = EmailMessage()
        message["Subject"] = literal_subject(subject)
        message["From"] = self._sender
        message["To"] = to
        message["Date"] = formatdate(usegmt=True)
        # SES puts its own on AWS; the local outbox keeps this one (a probe read none).
        # It and the boundary come from uuid4, not from what email's make_msgid and
        # generator draw them from, the process-wide random module: in the one-process
        # local stack every email moved the random state of the tests beside it.
        domain = self._sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = f"<{uuid.uuid4().hex}@{domain}>"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        message.set_boundary(f"=={uuid.uuid4().hex}==")
        response = self._client.send_raw_email(
            Source=self._sender,
            Destinations=[to],
            # Headers unfolded (a line stays far under SMTP's 998): CPython folds a space
            # before an encoded word into the break, so "Barcelona Gràcia" read as
            # "Barcelona  Gràcia" (a probe). The parts' lines are encoded already.
            RawMessage={
                "Data": message.as_bytes(policy=message.policy.clone(max_line_length=None))
            },
        )
        return response["MessageId"]


class SnsTexter:
    """``Texter`` on SNS direct publishing to a phone number (transactional SMS)."""

    def __init__(self, client: SNSClient) -> None:
        self._client = client

    def send(self, to: str, text: str) -> str:
        """Send one SMS; returns SNS's message id."""
        response = self._client.publish(
            PhoneNumber=to,
            Message=text,
            MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
            },
        )
        return response["MessageId"]
