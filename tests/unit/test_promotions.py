"""Promotions: the rules ops may set, which promotions a basket gets, how a discount spreads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import CouponUsedUp, InvalidCoupon
from chalicelib.domain.promotions import (
    Promotion,
    PromotionTerms,
    allocate,
    check_quoted_coupon,
    choose,
)

NOW = datetime(2027, 11, 16, 12, 0, tzinfo=UTC)


def promo(promotion_id: str, **terms: Any) -> Promotion:
    return Promotion(promotion_id=promotion_id, **{"name": promotion_id, **terms})


def field_of(refused: pytest.ExceptionInfo[ValueError]) -> tuple[Any, ...]:
    errors: list[dict[str, Any]] = refused.value.errors()  # type: ignore[attr-defined]
    return tuple(errors[0]["loc"])


# -- the rules ops may set ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"kind": "percent"}, "value"),
        ({"kind": "amount"}, "value"),
        ({"kind": "free_shipping", "value": "5"}, "value"),
        ({"kind": "percent", "value": "0"}, "value"),
        ({"kind": "percent", "value": "100.01"}, "value"),
        ({"kind": "percent", "value": "-5"}, "value"),
        ({"kind": "amount", "value": "0"}, "value"),
        ({"kind": "amount", "value": "5.001"}, "value"),
        ({"kind": "amount", "value": "NaN"}, "value"),
        ({"kind": "bogo", "value": "1"}, "kind"),
        ({"kind": "amount", "value": "5", "min_subtotal": "-1"}, "min_subtotal"),
        ({"kind": "amount", "value": "5", "min_subtotal": "10.001"}, "min_subtotal"),
        ({"kind": "amount", "value": "5", "channels": []}, "channels"),
        ({"kind": "amount", "value": "5", "channels": ["fax"]}, "channels"),
        ({"kind": "amount", "value": "5", "max_redemptions": 0}, "max_redemptions"),
        ({"kind": "amount", "value": "5", "campaign": "x" * 101}, "campaign"),
        ({"kind": "amount", "value": "5", "code": "NO SPACES"}, "code"),
        ({"kind": "amount", "value": "5", "starts_at": "2027-01-01T00:00:00"}, "starts_at"),
        (
            {
                "kind": "amount",
                "value": "5",
                "starts_at": "2027-02-01T00:00:00Z",
                "ends_at": "2027-02-01T00:00:00Z",
            },
            "ends_at",
        ),
        ({"kind": "amount", "value": "5", "surprise": True}, "surprise"),
    ],
)
def test_bad_terms_are_refused_naming_the_field(terms: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError) as refused:
        PromotionTerms.model_validate({"name": "Black Friday", **terms})

    assert field_of(refused)[0] == field


@pytest.mark.parametrize(
    "terms",
    [
        {"kind": "percent", "value": "100"},
        {"kind": "percent", "value": "0.5"},
        {"kind": "amount", "value": "5.00"},
        {"kind": "free_shipping"},
        {"kind": "amount", "value": "5", "channels": ["web", "store"], "max_redemptions": 1},
    ],
)
def test_good_terms_are_accepted(terms: dict[str, Any]) -> None:
    assert PromotionTerms.model_validate({"name": "Rebajas", **terms}).kind.value == terms["kind"]


def test_codes_are_kept_upper_case() -> None:
    assert PromotionTerms(name="x", code="verano-25", kind="free_shipping").code == "VERANO-25"


# -- which promotions a basket gets --------------------------------------------------------


def test_a_coupon_applies_whatever_its_case() -> None:
    coupon = promo("p-c", code="FLYER10", kind="percent", value="10")

    assert choose([coupon], " flyer10 ", "store", Decimal("20.00"), NOW) == [coupon]


def test_a_coded_promotion_needs_its_code() -> None:
    coupon = promo("p-c", code="FLYER10", kind="percent", value="10")

    assert choose([coupon], None, "web", Decimal("20.00"), NOW) == []


@pytest.mark.parametrize(
    ("terms", "channel", "subtotal", "why"),
    [
        ({"starts_at": NOW + timedelta(seconds=1)}, "web", "50.00", "not valid until"),
        ({"ends_at": NOW}, "web", "50.00", "expired"),
        ({"channels": ["web", "app"]}, "store", "50.00", "store"),
        ({"min_subtotal": "50.00"}, "web", "49.99", "at least 50.00"),
        ({"once_per_customer": True}, "web", "50.00", "identify the customer"),
    ],
)
def test_a_coupon_that_does_not_apply_is_a_422_naming_coupon(
    terms: dict[str, Any], channel: str, subtotal: str, why: str
) -> None:
    coupon = promo("p-c", code="FLYER10", kind="percent", value="10", **terms)

    with pytest.raises(InvalidCoupon) as refused:
        choose([coupon], "FLYER10", channel, Decimal(subtotal), NOW)

    assert (refused.value.status, refused.value.field) == (422, "coupon")
    assert why in refused.value.detail


def test_a_quoted_coupon_is_checked_against_the_orders_channel() -> None:
    coupon = promo("p-c", code="WEBONLY", kind="percent", value="50", channels=["web"])

    check_quoted_coupon(coupon, "web")  # the quote's own channel: fine
    with pytest.raises(InvalidCoupon) as refused:
        check_quoted_coupon(coupon, "app")

    assert (refused.value.status, refused.value.field) == (422, "coupon")
    assert "not valid for app orders" in refused.value.detail
    check_quoted_coupon(promo("p-any", code="ANY", kind="free_shipping"), "kiosk")


def test_an_unknown_coupon_is_a_422_naming_coupon() -> None:
    other = promo("p-c", code="FLYER10", kind="percent", value="10")

    with pytest.raises(InvalidCoupon) as refused:
        choose([other], "FLYER11", "web", Decimal("50.00"), NOW)

    assert refused.value.field_errors() == [("coupon", refused.value.detail)]


def test_a_coupon_in_its_window_on_the_edges() -> None:
    coupon = promo(
        "p-c", code="C", kind="amount", value="5", starts_at=NOW, ends_at=NOW + timedelta(days=1)
    )

    assert choose([coupon], "C", "web", Decimal("5.00"), NOW) == [coupon]
    assert choose([coupon], "C", "web", Decimal("5.00"), NOW + timedelta(hours=23)) == [coupon]


def test_a_used_up_coupon_is_a_409_naming_coupon() -> None:
    coupon = promo("p-c", code="ONLY3", kind="amount", value="5", max_redemptions=3)

    assert choose([coupon], "ONLY3", "web", Decimal("10.00"), NOW, {"p-c": 2}) == [coupon]
    with pytest.raises(CouponUsedUp) as refused:
        choose([coupon], "ONLY3", "web", Decimal("10.00"), NOW, {"p-c": 3})

    assert (refused.value.status, refused.value.field) == (409, "coupon")


def test_a_once_per_customer_coupon_is_a_409_the_second_time() -> None:
    coupon = promo("p-c", code="WELCOME", kind="percent", value="15", once_per_customer=True)

    assert choose([coupon], "WELCOME", "web", Decimal("10.00"), NOW, {}, {"p-other"}) == [coupon]
    with pytest.raises(CouponUsedUp):
        choose([coupon], "WELCOME", "web", Decimal("10.00"), NOW, {}, {"p-c"})


def test_the_best_eligible_automatic_promotion_applies_with_the_coupon() -> None:
    five_off = promo("p-a1", kind="amount", value="5")
    ten_pct = promo("p-a2", kind="percent", value="10")
    big_basket = promo("p-a3", kind="percent", value="50", min_subtotal="500.00")
    coupon = promo("p-c", code="FLYER", kind="free_shipping")

    # 10 % of 80.00 is 8.00, more than 5.00; the 50 % needs a bigger basket.
    chosen = choose([five_off, ten_pct, big_basket, coupon], "FLYER", "web", Decimal("80.00"), NOW)
    assert chosen == [ten_pct, coupon]
    # On 40.00, 10 % is 4.00 and five off is worth more.
    assert choose([five_off, ten_pct], None, "web", Decimal("40.00"), NOW) == [five_off]


def test_free_shipping_is_ranked_by_the_fee_it_saves() -> None:
    free = promo("p-fs", kind="free_shipping")
    three_off = promo("p-3", kind="amount", value="3")

    assert choose(
        [free, three_off], None, "web", Decimal("30.00"), NOW, shipping=Decimal("4.95")
    ) == [free]
    assert choose([free, three_off], None, "web", Decimal("30.00"), NOW, shipping=Decimal("0")) == [
        three_off
    ]


def test_automatic_promotions_that_do_not_apply_are_skipped_silently() -> None:
    used_up = promo("p-1", kind="amount", value="9", max_redemptions=1)
    mine_once = promo("p-2", kind="amount", value="8", once_per_customer=True)
    app_only = promo("p-3", kind="amount", value="7", channels=["app"])
    expired = promo("p-4", kind="amount", value="6", ends_at=NOW - timedelta(days=1))
    plain = promo("p-5", kind="amount", value="1")
    every = [used_up, mine_once, app_only, expired, plain]

    assert choose(every, None, "web", Decimal("50.00"), NOW, {"p-1": 1}, None) == [plain]
    assert choose(every, None, "web", Decimal("50.00"), NOW, {"p-1": 1}, set()) == [mine_once]
    assert choose(every, None, "app", Decimal("50.00"), NOW, {"p-1": 1}, {"p-2"}) == [app_only]


def test_a_promotion_without_channels_gives_the_same_choice_in_every_channel() -> None:
    everywhere = promo("p-1", kind="percent", value="20")

    for channel in ("web", "app", "store", "kiosk", "phone"):
        assert choose([everywhere], None, channel, Decimal("10.00"), NOW) == [everywhere]


# -- spreading a discount over lines -------------------------------------------------------


def test_a_discount_spreads_in_proportion_with_leftover_cents_to_the_largest_remainders() -> None:
    assert allocate(Decimal("5.00"), [Decimal("10.00")] * 3) == [
        Decimal("1.67"),
        Decimal("1.67"),
        Decimal("1.66"),
    ]
    assert allocate(Decimal("1.00"), [Decimal("1.00"), Decimal("3.00")]) == [
        Decimal("0.25"),
        Decimal("0.75"),
    ]
    assert allocate(Decimal("0.00"), [Decimal("0")]) == [Decimal("0.00")]


def test_spreading_refuses_what_cannot_be_spread() -> None:
    with pytest.raises(ValueError):
        allocate(Decimal("1.00"), [Decimal("0")])
    with pytest.raises(ValueError):
        allocate(Decimal("0.005"), [Decimal("1")])


cents = st.integers(min_value=0, max_value=10_000_00).map(lambda c: Decimal(c).scaleb(-2))


@given(st.lists(cents, min_size=1, max_size=12), st.data())
def test_shares_add_up_exactly_stay_within_a_cent_and_never_exceed_a_line(
    weights: list[Decimal], data: st.DataObject
) -> None:
    whole = sum(weights, Decimal(0))
    amount = data.draw(st.integers(0, int(whole * 100)).map(lambda c: Decimal(c).scaleb(-2)))
    if whole == 0:
        amount = Decimal("0.00")

    shares = allocate(amount, weights)

    assert sum(shares, Decimal(0)) == amount
    for share, weight in zip(shares, weights, strict=True):
        assert Decimal(0) <= share <= weight
        assert share == share.quantize(Decimal("0.01"))
        if whole:
            exact = Fraction(amount) * Fraction(weight) / Fraction(whole)
            assert abs(Fraction(share) - exact) < Fraction(1, 100)


@given(
    channels=st.frozensets(st.sampled_from(["web", "app", "store", "kiosk", "phone"]), min_size=1)
)
def test_stored_terms_read_back_and_write_again_the_same(channels: frozenset[str]) -> None:
    # Found by the suite's schemathesis: a set's order changed between writing the terms
    # and reading them back, so ending a promotion (written under the condition that its
    # terms are still those read) was refused every time, 409.
    written = Promotion(
        promotion_id="pr_1", name="Diez", kind="percent", value=Decimal("10"), channels=channels
    ).model_dump_json()

    assert Promotion.model_validate_json(written).model_dump_json() == written
