from django import template

from scoring.points import format_points

register = template.Library()


@register.filter
def points(centi):
    """Centipoints as a decimal: 8550 → 85.5."""
    return format_points(centi)


@register.filter
def signed_points(centi):
    text = format_points(centi)
    return f"+{text}" if centi and centi > 0 else text


@register.filter
def period_scores(total_row):
    """Every period's score of a stored total, in period order: '69 / 74'."""
    scores = total_row.period_scores or {}
    return " / ".join(format_points(scores[key]) for key in sorted(scores, key=int))


@register.filter
def period_score(total_row, index):
    """A stored total's score for period `index` (JSON keys are strings)."""
    return format_points((total_row.period_scores or {}).get(str(index)))


@register.filter
def branch_in(branch, scope):
    """`branch`'s name as `scope` (a dashboard scope) names it: with its college where the scope holds
    branches of several colleges."""
    return scope.branch_label(branch)
