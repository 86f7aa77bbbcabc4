"""Points are exact: stored as integers in hundredths (centipoints), shown as decimals.

SQLite keeps a DecimalField as a float, so a SUM there can give 69.30000000000001 and put a member
in the wrong band. Ledger points and totals are therefore integers of 1/100 point: sums are exact
on SQLite and PostgreSQL alike, and a mean of two semester scores (whole tenths) stays exact too.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENTI = 100


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
    """Integer mean in centipoints, rounding half up (only reached with 3+ periods)."""
    return int((Decimal(total) / count).to_integral_value(rounding=ROUND_HALF_UP))


def format_points(centi) -> str:
    """85 → '85', 8550 → '85.5', 8525 → '85.25'; None → '—'."""
    if centi is None:
        return "—"
    text = f"{from_centi(centi):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
