from django import template

from scoring.points import format_points

register = template.Library()


def _missing(value):
    """A template hands a filter "" for a missing attribute (`r.total.total` with no total row)."""
    return value is None or value == ""


@register.filter
def points(centi):
    """Centipoints as a decimal: 8550 → 85.5; nothing (no stored total yet) → '—'."""
    return format_points(None if _missing(centi) else centi)


@register.filter
def signed_points(centi):
    if _missing(centi):
        return format_points(None)
    text = format_points(centi)
    return f"+{text}" if centi and centi > 0 else text


@register.filter
def period_scores(total_row):
    """Every period's score of a stored total, in period order: '69 / 74'."""
    scores = getattr(total_row, "period_scores", None) or {}
    return " / ".join(format_points(scores[key]) for key in sorted(scores, key=int))


@register.filter
def period_score(total_row, index):
    """A stored total's score for period `index` (JSON keys are strings)."""
    return format_points((getattr(total_row, "period_scores", None) or {}).get(str(index)))
