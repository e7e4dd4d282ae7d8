"""Where a Spanish postal code is: its region's calendar, time zone, tax and shipping zone.

A Spanish postal code is five digits whose first two are the province (01 Álava to 50
Zaragoza, alphabetical by the old names, then 51 Ceuta and 52 Melilla). Each province
belongs to one autonomous community or city, named here by the code the ``holidays``
package uses for Spain's subdivisions, so the code picks the regional calendar.

Taxes by territory (catalogue prices include the mainland's 21 % IVA):
- Mainland and Balearic Islands: IVA 21 %, included in the price.
- Canary Islands (35, 38): IGIC 7 % general rate, added to the price without IVA.
- Ceuta (51) and Melilla (52): IPSI (Ley 8/1991), added to the price without IVA. Each
  city sets its own rates by kind of good, between 0.5 % and 10 %. The catalogue is
  fashion with no tax class per product yet, so each city's rate for clothing applies to
  all goods: 5 % in both since each city halved it from 10 %:
  - Ceuta: the Assembly halved the IPSI on producing and importing clothing (10 % to
    5 %), footwear (7 % to 3.5 %), mobile phones, jewellery and watches (El Faro de
    Ceuta, "La Ciudad rebajará el IPSI de ropa, calzado, móviles y joyería",
    https://elfarodeceuta.es/ciudad-rebajara-ipsi-ropa-calzado-moviles-joyeria/ ;
    approved in plenary: https://elpueblodeceuta.es/art/89454/ ).
  - Melilla: clothing ("vestido") from 10 % to 5 %, footwear from 7 % to 5 % (Melilla
    Hoy, "La Ciudad subirá el IPSI en los fardos de ropa usada contra el colapso
    fronterizo", https://melillahoy.es/ , 2018 budget).
  Footwear differs (3.5 % in Ceuta, 5 % in Melilla): when products carry a tax class,
  ``IPSI_CEUTA`` and ``IPSI_MELILLA`` become tables. Finance confirms before launch.
"""

from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import ConfigDict

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import InvalidPostalCode


class ShippingZone(StrEnum):
    """The carriers' zones, each with its own fee."""

    PENINSULA = "peninsula"
    BALEARICS = "balearics"
    CANARIES = "canaries"
    CEUTA_MELILLA = "ceuta_melilla"


class TaxName(StrEnum):
    """The indirect tax of a territory."""

    IVA = "IVA"
    IGIC = "IGIC"
    IPSI = "IPSI"
    NONE = "none"


class TaxRegime(DeferredModel):
    """A territory's indirect tax: its rate and whether catalogue prices include it."""

    model_config = ConfigDict(frozen=True)

    name: TaxName
    rate: Decimal
    included: bool


IVA = TaxRegime(name=TaxName.IVA, rate=Decimal("0.21"), included=True)
IGIC = TaxRegime(name=TaxName.IGIC, rate=Decimal("0.07"), included=False)
# Each city's IPSI on clothing, the catalogue's goods (sources above).
IPSI_CEUTA = TaxRegime(name=TaxName.IPSI, rate=Decimal("0.05"), included=False)
IPSI_MELILLA = TaxRegime(name=TaxName.IPSI, rate=Decimal("0.05"), included=False)
# The tax the catalogue's prices include: taken out before a territory's own tax is added.
CATALOGUE_TAX = IVA

MADRID = "Europe/Madrid"
CANARY = "Atlantic/Canary"

# Province (first two digits) -> (province, ``holidays.Spain`` subdivision).
PROVINCES: dict[str, tuple[str, str]] = {
    "01": ("Araba/Álava", "PV"),
    "02": ("Albacete", "CM"),
    "03": ("Alicante/Alacant", "VC"),
    "04": ("Almería", "AN"),
    "05": ("Ávila", "CL"),
    "06": ("Badajoz", "EX"),
    "07": ("Illes Balears", "IB"),
    "08": ("Barcelona", "CT"),
    "09": ("Burgos", "CL"),
    "10": ("Cáceres", "EX"),
    "11": ("Cádiz", "AN"),
    "12": ("Castellón/Castelló", "VC"),
    "13": ("Ciudad Real", "CM"),
    "14": ("Córdoba", "AN"),
    "15": ("A Coruña", "GA"),
    "16": ("Cuenca", "CM"),
    "17": ("Girona", "CT"),
    "18": ("Granada", "AN"),
    "19": ("Guadalajara", "CM"),
    "20": ("Gipuzkoa", "PV"),
    "21": ("Huelva", "AN"),
    "22": ("Huesca", "AR"),
    "23": ("Jaén", "AN"),
    "24": ("León", "CL"),
    "25": ("Lleida", "CT"),
    "26": ("La Rioja", "RI"),
    "27": ("Lugo", "GA"),
    "28": ("Madrid", "MD"),
    "29": ("Málaga", "AN"),
    "30": ("Murcia", "MC"),
    "31": ("Navarra", "NC"),
    "32": ("Ourense", "GA"),
    "33": ("Asturias", "AS"),
    "34": ("Palencia", "CL"),
    "35": ("Las Palmas", "CN"),
    "36": ("Pontevedra", "GA"),
    "37": ("Salamanca", "CL"),
    "38": ("Santa Cruz de Tenerife", "CN"),
    "39": ("Cantabria", "CB"),
    "40": ("Segovia", "CL"),
    "41": ("Sevilla", "AN"),
    "42": ("Soria", "CL"),
    "43": ("Tarragona", "CT"),
    "44": ("Teruel", "AR"),
    "45": ("Toledo", "CM"),
    "46": ("Valencia/València", "VC"),
    "47": ("Valladolid", "CL"),
    "48": ("Bizkaia", "PV"),
    "49": ("Zamora", "CL"),
    "50": ("Zaragoza", "AR"),
    "51": ("Ceuta", "CE"),
    "52": ("Melilla", "ML"),
}

_SPECIAL: dict[str, tuple[str, TaxRegime, ShippingZone]] = {
    # prefix: (time zone, tax, zone); every other province is Madrid time, IVA, peninsula.
    "07": (MADRID, IVA, ShippingZone.BALEARICS),
    "35": (CANARY, IGIC, ShippingZone.CANARIES),
    "38": (CANARY, IGIC, ShippingZone.CANARIES),
    "51": (MADRID, IPSI_CEUTA, ShippingZone.CEUTA_MELILLA),
    "52": (MADRID, IPSI_MELILLA, ShippingZone.CEUTA_MELILLA),
}


class Destination(DeferredModel):
    """A place in Spain as its postal code determines it."""

    model_config = ConfigDict(frozen=True)

    postal_code: str
    province: str
    region: str
    time_zone: str
    tax: TaxRegime
    zone: ShippingZone

    @property
    def tz(self) -> ZoneInfo:
        """The place's time zone."""
        return ZoneInfo(self.time_zone)


def destination(postal_code: str, field: str = "postal_code") -> Destination:
    """The region, time zone, tax and shipping zone of a Spanish postal code; a code that
    is not five digits of a province raises ``InvalidPostalCode`` naming ``field``."""
    code = postal_code.strip()
    if len(code) != 5 or not code.isascii() or not code.isdigit():
        raise InvalidPostalCode(f"{postal_code!r} is not a Spanish postal code", field)
    prefix = code[:2]
    if prefix not in PROVINCES:
        raise InvalidPostalCode(f"{postal_code!r} is in no Spanish province (01 to 52)", field)
    province, region = PROVINCES[prefix]
    time_zone, tax, zone = _SPECIAL.get(prefix, (MADRID, IVA, ShippingZone.PENINSULA))
    return Destination(
        postal_code=code, province=province, region=region, time_zone=time_zone, tax=tax, zone=zone
    )


def place_of(postal_code: str | None) -> Destination | None:
    """The region of a Spanish postal code, or ``None`` for one that is not."""
    if postal_code is None:
        return None
    try:
        return destination(postal_code)
    except InvalidPostalCode:
        return None


def place_in_spain(country: str, postal_code: str | None) -> Destination | None:
    """The region of an address in Spain; None abroad, or for a code no province has."""
    return place_of(postal_code) if country.upper() == "ES" else None
