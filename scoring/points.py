"""Points are exact: stored as integers in hundredths (centipoints), shown as decimals.

SQLite keeps a DecimalField as a float, so a SUM there can give 69.30000000000001 and put a member
in the wrong band. Ledger points are therefore integers of 1/100 point: sums are exact on SQLite and
PostgreSQL alike.

A year's total may be a mean of period scores (Policy A: (89.99 + 90.00) / 2 = 89.995), which is not
a whole number of hundredths. Outcome rules see that exact value (a `Fraction` of centipoints); it
is stored exactly as a whole number of `EXACT_PER_CENTI`-ths of a centipoint (a mean of up to 12
periods, the most a year has, always is one), and shown cut down to hundredths (`floor_centi`),
never rounded up: 89.995 is shown 89.99, so a shown total never reaches a band edge the exact one
has not reached, and "at or above"/"below" on the shown total agree with the exact one.
"""

import functools
import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

CENTI = 100
EXACT_PER_CENTI = 27720  # lcm(1, 2, …, 12): every mean of 1–12 period scores is whole in this unit


def to_centi(value) -> int:
    """Decimal/str/int points → integer centipoints; refuses finer than 0.01."""
    try:
        scaled = Decimal(str(value)) * CENTI
    except InvalidOperation as error:
        raise ValueError(f"not a number: {value!r}") from error
    if not scaled.is_finite():
        raise ValueError(f"not a number: {value!r}")
    if scaled != scaled.to_integral_value():
        raise ValueError(f"finer than 0.01 point: {value!r}")
    return int(scaled)


def from_centi(centi: int) -> Decimal:
    return Decimal(centi) / CENTI


def divide_centi(total: int, count: int) -> int:
    """Integer mean in centipoints, rounding half up: for combining panelists' scores of one item
    into one ledger line (a line is a whole number of hundredths). Never used for a year's total."""
    return int((Decimal(total) / count).to_integral_value(rounding=ROUND_HALF_UP))


def floor_centi(value) -> int:
    """An exact total (int or Fraction of centipoints) as shown: cut down to whole hundredths."""
    return math.floor(value)


def to_exact_units(value) -> int:
    """An exact total (centipoints) in the stored unit; refuses a value that is not whole in it."""
    if isinstance(value, int):  # most totals: whole centipoints, without a Fraction's arithmetic
        return value * EXACT_PER_CENTI
    scaled = Fraction(value) * EXACT_PER_CENTI
    if scaled.denominator != 1:
        raise ValueError(f"not exact in 1/{EXACT_PER_CENTI} centipoint: {value!r}")
    return scaled.numerator


def from_exact_units(units) -> Fraction | None:
    return None if units is None else Fraction(units, EXACT_PER_CENTI)


@functools.lru_cache(maxsize=65536)  # pure, and called for every reason that states a total
def format_exact(value, places=4) -> str:
    """An exact total in points with every digit it has (89.995), or, when its decimals never end,
    its first `places` decimals cut down and followed by "…" (70.0033…); None → '—'."""
    if value is None:
        return "—"
    value = Fraction(value)
    if value.denominator == 1:
        return format_points(value.numerator)
    in_points = value / CENTI
    for digits in range(1, places + 1):
        scaled = in_points * 10**digits
        if scaled.denominator == 1:
            return _decimal_text(scaled.numerator, digits)
    return _decimal_text(math.floor(in_points * 10**places), places) + "…"


def _decimal_text(scaled: int, digits: int) -> str:
    text = f"{Decimal(scaled).scaleb(-digits):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_points(centi) -> str:
    """85 → '85', 8550 → '85.5', 8525 → '85.25'; None → '—'."""
    if centi is None:
        return "—"
    text = f"{from_centi(centi):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
