"""The pick-up QR code: the SVG is read back module by module and decoded here, without
segno, as a scanner would (finder and timing patterns, format information, the data)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.presentation.qr import QUIET_ZONE, pickup_qr, pickup_qr_svg

Matrix = list[list[int]]
# The 15-bit format information is masked with this so it is never all zeros.
FORMAT_MASK = 0b101010000010010
FORMAT_GENERATOR = 0b10100110111
LEVELS = {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}
# Data codewords of a version-1 symbol per error-correction level (one block each).
V1_DATA_CODEWORDS = {"L": 19, "M": 16, "Q": 13, "H": 9}
MASKS = [
    lambda r, c: (r + c) % 2 == 0,
    lambda r, c: r % 2 == 0,
    lambda r, c: c % 3 == 0,
    lambda r, c: (r + c) % 3 == 0,
    lambda r, c: (r // 2 + c // 3) % 2 == 0,
    lambda r, c: (r * c) % 2 + (r * c) % 3 == 0,
    lambda r, c: ((r * c) % 2 + (r * c) % 3) % 2 == 0,
    lambda r, c: ((r + c) % 2 + (r * c) % 3) % 2 == 0,
]
FINDER = [
    [1, 1, 1, 1, 1, 1, 1],
    [1, 0, 0, 0, 0, 0, 1],
    [1, 0, 1, 1, 1, 0, 1],
    [1, 0, 1, 1, 1, 0, 1],
    [1, 0, 1, 1, 1, 0, 1],
    [1, 0, 0, 0, 0, 0, 1],
    [1, 1, 1, 1, 1, 1, 1],
]


def modules_of(svg: str, scale: int) -> Matrix:
    """The symbol's modules (quiet zone cut off) as the SVG draws them: its dark path is
    a run of horizontal strokes, ``M``/``m`` moving the pen and ``h`` drawing a run."""
    root = ET.fromstring(svg)
    _, _, width, height = (int(v) for v in root.attrib["viewBox"].split())
    assert width == height and width % scale == 0
    size = width // scale
    dark = [p for p in root.iter("path") if "stroke" in p.attrib]
    assert len(dark) == 1
    grid = [[0] * size for _ in range(size)]
    x = y = 0.0
    for command, args in re.findall(r"([MmhH])([^MmhH]*)", dark[0].attrib["d"]):
        numbers = [float(n) for n in args.replace(",", " ").split()]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            run = int(numbers[0])
            for column in range(int(x), int(x) + run):
                grid[int(y)][column] = 1
            x += run
    inner = size - 2 * QUIET_ZONE
    assert all(not any(row) for row in grid[:QUIET_ZONE] + grid[size - QUIET_ZONE :])
    return [row[QUIET_ZONE : QUIET_ZONE + inner] for row in grid[QUIET_ZONE : size - QUIET_ZONE]]


def format_codes() -> dict[int, tuple[str, int]]:
    """All 32 valid format words: the level and mask, BCH(15,5)-protected and masked."""
    codes = {}
    for level_bits, level in LEVELS.items():
        for mask in range(8):
            data = (level_bits << 3) | mask
            remainder = data << 10
            for shift in range(4, -1, -1):
                if remainder & (1 << (shift + 10)):
                    remainder ^= FORMAT_GENERATOR << shift
            codes[((data << 10) | remainder) ^ FORMAT_MASK] = (level, mask)
    return codes


def read_format(matrix: Matrix) -> tuple[str, int]:
    """The level and mask from the format bits around the top-left finder."""
    cells = [(8, c) for c in (0, 1, 2, 3, 4, 5, 7, 8)] + [(r, 8) for r in (7, 5, 4, 3, 2, 1, 0)]
    bits = [matrix[r][c] for r, c in cells]
    codes = format_codes()
    for ordered in (bits, bits[::-1]):
        word = int("".join(map(str, ordered)), 2)
        if word in codes:
            return codes[word]
    raise AssertionError(f"no valid format information: {bits}")


def reserved_v1(r: int, c: int, n: int) -> bool:
    """Function modules of a version-1 symbol: finders with separators and format areas,
    the timing patterns."""
    return (r < 9 and c < 9) or (r < 9 and c >= n - 8) or (r >= n - 8 and c < 9) or r == 6 or c == 6


def decode_numeric_v1(matrix: Matrix) -> str:
    """The digits of a version-1 numeric-mode symbol, read as a scanner would: unmask,
    walk the zigzag from the bottom-right, parse mode, count and digit groups."""
    n = len(matrix)
    level, mask = read_format(matrix)
    bits: list[int] = []
    upward, column = True, n - 1
    while column > 0:
        if column == 6:
            column -= 1
        for r in range(n - 1, -1, -1) if upward else range(n):
            for c in (column, column - 1):
                if not reserved_v1(r, c, n):
                    bits.append(matrix[r][c] ^ int(MASKS[mask](r, c)))
        upward, column = not upward, column - 2
    data = bits[: 8 * V1_DATA_CODEWORDS[level]]

    def take(count: int) -> int:
        value = int("".join(map(str, data[:count])), 2)
        del data[:count]
        return value

    assert take(4) == 0b0001, "numeric mode"
    length = take(10)
    digits = ""
    while len(digits) < length:
        group = min(3, length - len(digits))
        digits += str(take({3: 10, 2: 7, 1: 4}[group])).zfill(group)
    return digits


def test_the_svg_is_a_version_1_symbol_with_its_quiet_zone_and_scale() -> None:
    svg = pickup_qr_svg("123456", "Código de recogida 123456", scale=5)
    root = ET.fromstring(svg)
    # 21 modules (17 + 4 × version 1) plus 4 of quiet zone on each side, 5 px each.
    assert root.attrib["viewBox"] == f"0 0 {(21 + 2 * QUIET_ZONE) * 5} {(21 + 2 * QUIET_ZONE) * 5}"
    assert "width" not in root.attrib and "height" not in root.attrib  # sized by the page
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-label"] == "Código de recogida 123456"
    assert root.findtext("title") == "Código de recogida 123456"
    assert len(modules_of(svg, 5)) == 21


def test_finder_and_timing_patterns_are_where_a_scanner_looks() -> None:
    matrix = modules_of(pickup_qr_svg("000001", "code"), 4)
    n = len(matrix)
    for top, left in ((0, 0), (0, n - 7), (n - 7, 0)):
        assert [row[left : left + 7] for row in matrix[top : top + 7]] == FINDER
    assert [matrix[6][c] for c in range(8, n - 8)] == [1, 0, 1, 0, 1]
    assert [matrix[r][6] for r in range(8, n - 8)] == [1, 0, 1, 0, 1]
    assert matrix[n - 8][8] == 1  # the dark module


def test_the_format_says_the_level_and_mask_segno_chose() -> None:
    symbol = pickup_qr("123456")
    level, mask = read_format(modules_of(pickup_qr_svg("123456", "code"), 4))
    assert (level, mask) == (symbol.error, symbol.mask)
    # A 6-digit code leaves room in version 1 for the highest correction.
    assert (symbol.version, level, symbol.is_micro) == (1, "H", False)


@pytest.mark.parametrize("code", ["123456", "000000", "987650", "040404"])
def test_the_svg_decodes_back_to_the_pickup_code(code: str) -> None:
    assert decode_numeric_v1(modules_of(pickup_qr_svg(code, "code"), 4)) == code


@settings(max_examples=40)
@given(st.integers(0, 999_999), st.integers(1, 8))
def test_property_any_pickup_code_round_trips_at_any_scale(number: int, scale: int) -> None:
    code = f"{number:06d}"
    svg = pickup_qr_svg(code, f"Pick-up code {code}", scale=scale)
    assert decode_numeric_v1(modules_of(svg, scale)) == code


def test_the_label_is_escaped_and_nothing_refers_outside() -> None:
    svg = pickup_qr_svg("123456", 'Code "1" <b>&')
    assert 'aria-label="Code &quot;1&quot; &lt;b&gt;&amp;"' in svg
    assert "<b>" not in svg
    assert svg.startswith("<svg ") and "<?xml" not in svg
    assert "http" not in svg and "href" not in svg
