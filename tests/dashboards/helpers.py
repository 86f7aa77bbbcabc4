"""Expectations counted straight from the plan the test wrote (tests/dashboards/conftest.py)."""

import bisect
import io
import math

import openpyxl

EDGES = [6000, 7000, 7500, 8000, 8500, 9000, 9500, 10000]  # centipoints: bins [.., 60), [60, 70) … [100, ..)


def of(plan, code):
    return [p for p in plan if p.branch == code]


def pledges_submitted(items):
    """Handed in: a returned pledge beside an approved one ("mixed") leaves the member to finish."""
    return [p for p in items if p.pledge in ("submitted", "approved")]


def pledges_approved(items):
    return [p for p in items if p.pledge == "approved"]


def self_done(items):
    return [p for p in items if p.self_score is not None]


def panel_done(items):
    return [p for p in items if p.panel]


def histogram(items):
    counts = [0] * (len(EDGES) + 1)
    for p in items:
        counts[bisect.bisect_right(EDGES, p.total)] += 1
    return counts


def with_consequence(items, code):
    return [p for p in items if code in p.consequences]


def at_or_above(items, centi):
    return [p for p in items if p.total >= centi]


def unchanged(items):
    compared = [p for p in items if p.self_score is not None and p.panel]
    return compared, [p for p in compared if p.self_score == p.total]


def share_limit(items, share=0.05):
    return math.floor(share * len(items))


def numbers(members):
    return sorted(m.number for m in members)


def plan_numbers(items):
    return sorted(p.member.number for p in items)


def workbook(response):
    return openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)


def sheet_values(book, name):
    return [list(row) for row in book[name].iter_rows(values_only=True)]
