from django import template

from scoring.points import format_exact, format_points, from_exact_units

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


@register.filter
def exact_beyond_shown(total_row):
    """A stored total's exact value ('89.995') when it has more decimals than the shown one, else ''."""
    exact = from_exact_units(getattr(total_row, "total_exact", None))
    if exact is None or total_row.total is None or exact == total_row.total:
        return ""
    return format_exact(exact)


@register.filter
def stored_text(value):
    """Text stored in Chinese when it was made (an outcome's reason, "<rule>：<detail>"): shown as
    stored to a Chinese reader; to another, the catalogue's translation of the whole text or else of
    its rule part (a branch's own wording, which no catalogue knows, stays as written)."""
    from django.utils.translation import get_language, gettext

    if not value or (get_language() or "").startswith("zh"):
        return value
    whole = gettext(value)
    if whole != value:
        return whole
    label, separator, _detail = value.partition("：")
    return gettext(label) if separator and gettext(label) != label else value


@register.filter
def branch_in(branch, scope):
    """`branch`'s name as `scope` (a dashboard scope) names it: with its college where the scope holds
    branches of several colleges."""
    return scope.branch_label(branch)
