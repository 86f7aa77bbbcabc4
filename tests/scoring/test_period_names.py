"""Period names as the documents write them, in Chinese and in English."""

from django.utils import translation

from scoring.models import Period, PeriodKind

from .helpers import YEAR


def test_quarters_are_named_with_chinese_numerals(scoring_world):
    quarters = Period.objects.filter(cycle__year=YEAR, kind=PeriodKind.QUARTER).order_by("index")
    assert [q.name for q in quarters] == [
        f"{YEAR}年第一季度",
        f"{YEAR}年第二季度",
        f"{YEAR}年第三季度",
        f"{YEAR}年第四季度",
    ]
    assert [q.label for q in quarters] == [q.name for q in quarters]
    with translation.override("en"):
        assert quarters[2].label == f"Q3 {YEAR}"
