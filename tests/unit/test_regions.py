"""Postal code -> region, time zone, tax and shipping zone: every province."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from chalicelib.domain.calendars import holidays_of
from chalicelib.domain.errors import InvalidPostalCode
from chalicelib.domain.regions import PROVINCES, ShippingZone, TaxName, destination

# Province prefix -> autonomous community, by the subdivision codes of ISO 3166-2:ES.
EXPECTED_REGION = {
    "01": "PV", "02": "CM", "03": "VC", "04": "AN", "05": "CL", "06": "EX", "07": "IB",
    "08": "CT", "09": "CL", "10": "EX", "11": "AN", "12": "VC", "13": "CM", "14": "AN",
    "15": "GA", "16": "CM", "17": "CT", "18": "AN", "19": "CM", "20": "PV", "21": "AN",
    "22": "AR", "23": "AN", "24": "CL", "25": "CT", "26": "RI", "27": "GA", "28": "MD",
    "29": "AN", "30": "MC", "31": "NC", "32": "GA", "33": "AS", "34": "CL", "35": "CN",
    "36": "GA", "37": "CL", "38": "CN", "39": "CB", "40": "CL", "41": "AN", "42": "CL",
    "43": "CT", "44": "AR", "45": "CM", "46": "VC", "47": "CL", "48": "PV", "49": "CL",
    "50": "AR", "51": "CE", "52": "ML",
}  # fmt: skip
CANARIES = {"35", "38"}
CITIES = {"51", "52"}


@pytest.mark.parametrize("prefix", sorted(EXPECTED_REGION))
def test_every_province_maps_to_its_region_time_zone_tax_and_zone(prefix: str) -> None:
    place = destination(f"{prefix}123")

    assert place.region == EXPECTED_REGION[prefix]
    assert place.postal_code == f"{prefix}123"
    if prefix in CANARIES:
        assert (place.time_zone, place.tax.name, place.zone) == (
            "Atlantic/Canary",
            TaxName.IGIC,
            ShippingZone.CANARIES,
        )
        assert place.tax.rate == Decimal("0.07") and not place.tax.included
    elif prefix in CITIES:
        assert place.time_zone == "Europe/Madrid"
        assert place.tax.name is TaxName.IPSI and not place.tax.included
        # Each city's IPSI on clothing (domain/regions.py cites both).
        assert place.tax.rate == Decimal("0.05")
        assert place.zone is ShippingZone.CEUTA_MELILLA
    else:
        assert place.time_zone == "Europe/Madrid"
        assert place.tax.name is TaxName.IVA and place.tax.included
        assert place.tax.rate == Decimal("0.21")
        expected_zone = ShippingZone.BALEARICS if prefix == "07" else ShippingZone.PENINSULA
        assert place.zone is expected_zone


def test_the_table_covers_the_52_provinces_in_19_regions() -> None:
    assert set(PROVINCES) == {f"{n:02d}" for n in range(1, 53)}
    assert len({region for _, region in PROVINCES.values()}) == 19


@pytest.mark.parametrize("region", sorted(set(EXPECTED_REGION.values())))
def test_every_region_has_a_calendar_in_the_holidays_package(region: str) -> None:
    days = holidays_of(region, 2027)

    assert date(2027, 1, 1) in days and date(2027, 12, 25) in days


def test_the_canaries_time_zone_is_an_hour_behind_the_peninsula() -> None:
    moment = datetime(2027, 1, 15, 12, 0)
    canary = destination("38001").tz.utcoffset(moment)
    madrid = destination("28001").tz.utcoffset(moment)

    assert canary is not None and madrid is not None
    assert (madrid - canary).total_seconds() == 3600


def test_surrounding_spaces_are_ignored() -> None:
    assert destination(" 08001 ").postal_code == "08001"


@pytest.mark.parametrize(
    "postal_code",
    ["", "2801", "280131", "28 01", "2801a", "00123", "53001", "99999", "２８０１３", "-2801"],
)
def test_a_bad_postal_code_is_refused_naming_the_field(postal_code: str) -> None:
    with pytest.raises(InvalidPostalCode) as refused:
        destination(postal_code, "shipping_address.postal_code")

    assert refused.value.field == "shipping_address.postal_code"
    assert refused.value.status == 422


def test_the_field_defaults_to_postal_code() -> None:
    with pytest.raises(InvalidPostalCode) as refused:
        destination("00000")

    assert refused.value.field_errors()[0][0] == "postal_code"
