"""The notification adapters on moto: a subject built from what customers and carriers
sent still goes out. A line break in an email's Subject made Python's email refuse the
message, so the ticket email was dropped after three tries (a probe); SNS refuses a whole
publish whose Subject is not one ASCII line under 100 characters."""

from __future__ import annotations

import os
import random
import uuid
from email import message_from_bytes
from email.policy import default
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.adapters.notifications import (
    SesMailer,
    SnsEventPublisher,
    ascii_address,
    sns_subject,
)

pytestmark = pytest.mark.moto
REGION = "eu-west-1"
SENDER = "orders@orquesta.example"


@pytest.fixture
def aws() -> Any:
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    with mock_aws():
        yield


def _sent_raw(to: str) -> list[bytes]:
    # This worker's local stack may share moto's backend: only this test's recipient.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [
        message.raw_data.encode()
        for message in backend.sent_messages
        if to in getattr(message, "destinations", [])
    ]


@pytest.mark.parametrize(
    "subject",
    ["Hi\r\nBcc: evil@attacker.example", "Hi\u2028there", "Hi\x85there\x0bagain", "a\x00b"],
)
def test_an_email_whose_subject_has_a_line_break_is_sent_on_one_line(
    aws: Any, subject: str
) -> None:
    import boto3

    ses = boto3.client("ses", region_name=REGION)
    ses.verify_email_identity(EmailAddress=SENDER)
    mailer = SesMailer(ses, SENDER)

    to = f"ana-{uuid.uuid4().hex[:8]}@example.com"
    mailer.send(to, subject, "<p>hola</p>", "hola")

    (raw,) = _sent_raw(to)
    sent = message_from_bytes(raw, policy=default)
    assert "\n" not in str(sent["Subject"]) and "\u2028" not in str(sent["Subject"])
    assert str(sent["Subject"]).startswith("Hi") or str(sent["Subject"]) == "a b"
    assert sent["Bcc"] is None
    assert sent["To"] == to


@pytest.mark.parametrize("padding", range(0, 60, 7))
def test_a_long_subject_with_accents_reads_back_exactly(aws: Any, padding: int) -> None:
    # A probe: "… ready at Tienda Barcelona Gràcia" read "Barcelona  Gràcia" (folded).
    import boto3

    ses = boto3.client("ses", region_name=REGION)
    ses.verify_email_identity(EmailAddress=SENDER)
    to = f"ana-{uuid.uuid4().hex[:8]}@example.com"
    subject = f"Your order ord_9fcdac2c352bede4c81e{'x' * padding} is ready at Barcelona Gràcia"
    html = "<p>" + "Gràcia " * 60 + "</p>"

    SesMailer(ses, SENDER).send(to, subject, html, "hola " * 100)

    (raw,) = _sent_raw(to)
    sent = message_from_bytes(raw, policy=default)
    assert str(sent["Subject"]) == subject
    assert all(len(line) <= 998 for line in raw.split(b"\n"))
    html_part = sent.get_body(("html",))
    assert html_part is not None and html_part.get_content().strip() == html


def test_an_alert_subject_is_what_sns_takes(aws: Any) -> None:
    import boto3

    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name=f"alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]
    subjects: list[str] = []
    sns.meta.events.register(
        "before-parameter-build.sns.Publish",
        lambda params, **_: subjects.append(params.get("Subject")),
    )
    publisher = SnsEventPublisher(sns, topic, topic)

    publisher.alert_ops("carrier exception AB\nCD \U0001f4e6 Peñíscola " + "x" * 200, {})

    (subject,) = subjects
    assert subject.startswith("carrier exception AB CD Peniscola x")
    assert subject.isascii() and subject.isprintable()
    assert len(subject) < 100


@pytest.mark.parametrize("text", ["", "\n", "\U0001f4e6", "   "])
def test_an_alert_subject_with_nothing_sns_can_carry_still_says_what_it_is(text: str) -> None:
    assert sns_subject(text) == "Orquesta alert"


def test_an_internationalised_domain_is_sent_in_its_ascii_form(aws: Any) -> None:
    # An order keeps the address as typed; "To: jose@=?utf-8?q?ex=C3=A4mple?=.com" reaches
    # nobody (a re-probe).
    import boto3

    ses = boto3.client("ses", region_name=REGION)
    ses.verify_email_identity(EmailAddress=SENDER)
    local = f"jose-{uuid.uuid4().hex[:8]}"

    SesMailer(ses, SENDER).send(f"{local}@exämple.com", "Hola", "<p>hola</p>", "hola")

    (raw,) = _sent_raw(f"{local}@xn--exmple-cua.com")
    assert message_from_bytes(raw, policy=default)["To"] == f"{local}@xn--exmple-cua.com"


@pytest.mark.parametrize(
    ("typed", "sent_to"),
    [
        ("x@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "x@example.com"),  # full-width
        ("x@\ufb01x.example", "x@fix.example"),  # a ligature
        ("x@exa\u0308mple.com", "x@xn--exmple-cua.com"),  # "ä" decomposed, as macOS types it
        ("Ana@Exämple.com", "ana@xn--exmple-cua.com"),
    ],
)
def test_a_domain_idna_alone_refuses_is_sent_as_its_identifier_is_stored(
    typed: str, sent_to: str
) -> None:
    # Re-probe 177: such a domain went out as typed ("To: x@=?utf-8?b?...?=.com"), and the
    # order's emails reached nobody, though its identifier was stored right.
    from chalicelib.domain.customers import normalise_email

    assert ascii_address(typed) == sent_to == normalise_email(typed)


@pytest.mark.parametrize("address", ["ana@example.com", "no-at-sign", "ana@exa\u00admple..com"])
def test_an_address_with_nothing_to_convert_is_left_as_it_is(address: str) -> None:
    assert ascii_address(address) == address


@pytest.mark.parametrize(
    "typed",
    [
        "=?utf-8?b?PHNjcmlwdD4=?= encoded",
        # Decodes to a line break and a header of its own.
        "=?utf-8?b?DQpCY2M6IHZpY3RpbUBleGFtcGxlLmNvbQ0KWC1FdmlsOiAx?= fin",
        "=?iso-8859-1?q?caf=E9?=",
    ],
)
def test_an_encoded_word_a_customer_typed_stays_text_in_the_subject(aws: Any, typed: str) -> None:
    # Found by a probe: Python's email decoded it when the Subject was set and wrote what
    # it decoded to: "<script>", or a line break and a Bcc header.
    import boto3

    ses = boto3.client("ses", region_name=REGION)
    ses.verify_email_identity(EmailAddress=SENDER)
    to = f"ana-{uuid.uuid4().hex[:8]}@example.com"

    SesMailer(ses, SENDER).send(to, f"Hemos abierto tu consulta: {typed}", "<p>x</p>", "x")

    (raw,) = _sent_raw(to)
    sent = message_from_bytes(raw, policy=default)
    assert sent["Bcc"] is None and sent["X-Evil"] is None
    assert str(sent["Subject"]).replace("\u2060", "") == f"Hemos abierto tu consulta: {typed}"
    assert sent["Message-ID"] is not None and sent["Message-ID"].endswith("@orquesta.example>")


def test_building_an_email_leaves_the_process_wide_random_state_alone() -> None:
    # email's make_msgid and its multipart boundary draw from the random module: in the
    # one-process local stack each email moved the state under the tests beside it, and
    # Hypothesis warned that its strategies' random state moved.
    sent: list[bytes] = []

    def send_raw_email(**request: Any) -> dict[str, str]:
        sent.append(request["RawMessage"]["Data"])
        return {"MessageId": "local-1"}

    mailer = SesMailer(SimpleNamespace(send_raw_email=send_raw_email), SENDER)  # type: ignore[arg-type]
    before = random.getstate()
    mailer.send("ana@example.com", "Hola", "<p>hola</p>", "hola")
    assert random.getstate() == before

    (raw,) = sent
    message = message_from_bytes(raw, policy=default)
    assert str(message["Message-ID"]).endswith("@orquesta.example>")
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
