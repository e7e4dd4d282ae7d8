"""ISO 3166-1 alpha-2 country codes: the countries an address may name.

Babel's English territory names (``babel.Locale("en").territories``) less its numeric
regions and the codes that are not officially assigned in ISO 3166-1 (exceptionally
reserved: AC, CP, CQ, DG, EA, IC, TA; groupings: EU, EZ, UN; user-assigned and private
use: QO, XA, XB, XK, ZZ). Written out rather than read from Babel at import, so that a
cold start loads no locale data; tests/unit/test_countries.py holds it to Babel.
"""

ISO_COUNTRIES: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM
    BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX
    CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG
    GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
    IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV
    LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE
    NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
    RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF
    WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - 249 codes read better as text than one per line
)


def country_pattern(codes: frozenset[str] = ISO_COUNTRIES) -> str:
    """A JSON Schema (ECMA 262) and Rust regex matching any of ``codes`` in any case, as
    sent: ``^(?:[Aa][DdEe...]|...)$``, one group per first letter."""
    by_first: dict[str, list[str]] = {}
    for code in sorted(codes):
        by_first.setdefault(code[0], []).append(code[1])
    groups = [
        f"[{first}{first.lower()}][{''.join(s + s.lower() for s in seconds)}]"
        for first, seconds in sorted(by_first.items())
    ]
    return "^(?:" + "|".join(groups) + ")$"
