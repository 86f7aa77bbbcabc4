"""The democratic-evaluation grade (民主评议等次: 优秀 / 合格 / 基本合格 / 不合格).

The branch meeting gives every scored member a grade when it determines the year (定绩); the
points bound that judgement. No member may be rated 优秀 when an outcome forbids it: Policy A's
«积分低于90分，不得确定为年度考核优秀», a red warning (取消本年度评先评优资格) or an unqualified
finding; where a scheme names the condition for 优秀 (Policy B's «记分85分以上，方可评为优秀党员»),
only a member who meets it. Red and unqualified outcomes propose 不合格, which the meeting may
confirm or, under Policy B's «确定为不合格党员的», decide otherwise; the grade chosen is archived with
the determination, in its checksum.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N

from scoring.exports import DATE, INT, POINTS, TEXT, WRAP, Column
from scoring.io_selectors import LINE_CHUNK
from scoring.models import MemberYearTotal, OutcomeRule

from .models import Determination, DeterminationLine, EvaluationGrade

C = OutcomeRule.Consequence
BARS_EXCELLENT = frozenset({C.NOT_EXCELLENT, C.RED, C.UNQUALIFIED})
PROPOSES_UNQUALIFIED = frozenset({C.RED, C.UNQUALIFIED})


def schemes_naming_excellence(scheme_ids):
    """The schemes among `scheme_ids` with a rule that is the condition for 优秀 (可评为优秀党员)."""
    return set(
        OutcomeRule.objects.filter(scheme_id__in=scheme_ids, consequence=C.EXCELLENT_ELIGIBLE).values_list(
            "scheme_id", flat=True
        )
    )


def member_schemes(branch, year):
    """member id → the scheme each member's year total was computed under."""
    return dict(MemberYearTotal.objects.filter(branch=branch, year=year).values_list("member_id", "scheme_id"))


def excellent_bar(consequences, *, scheme_names_excellence):
    """Why a member with these outcome consequences may not be rated 优秀, or "" if they may."""
    barred = [c for c in consequences if c in BARS_EXCELLENT]
    if barred:
        return str(C(barred[0]).label)
    if scheme_names_excellence and C.EXCELLENT_ELIGIBLE not in consequences:
        return _("未达到可评为优秀党员的分数")
    return ""


def proposed_grade(consequences):
    """The grade the form offers first: 不合格 after a red or unqualified outcome, else 合格."""
    if PROPOSES_UNQUALIFIED.intersection(consequences):
        return EvaluationGrade.UNQUALIFIED
    return EvaluationGrade.QUALIFIED


def grade_problems(rows, grades, *, schemes, naming_excellence):
    """Chinese sentences for every grade the meeting may not record; [] when all may stand.

    `rows` are determination snapshot rows; `grades` maps member id → grade; `schemes` maps
    member id → scheme id; `naming_excellence` is schemes_naming_excellence() of those schemes."""
    missing, barred = [], []
    for row in rows:
        if not row["scored"]:
            continue
        grade = grades.get(row["member"], "")
        if grade not in EvaluationGrade.values:
            missing.append(row["name"])
            continue
        consequences = [o["consequence"] for o in row["outcomes"]]
        why = excellent_bar(consequences, scheme_names_excellence=schemes.get(row["member"]) in naming_excellence)
        if grade == EvaluationGrade.EXCELLENT and why:
            barred.append(_("%(name)s（%(why)s）") % {"name": row["name"], "why": why})
    problems = []
    if missing:
        problems.append(_("请为以下党员选择民主评议等次：%(names)s") % {"names": "、".join(missing)})
    if barred:
        problems.append(_("以下党员不能评为优秀：%(members)s") % {"members": "、".join(barred)})
    return problems


# ── where the grade is read: the points card and the branch workbook ─────────────────────────


def decided_lines(**where):
    """Archived lines of decided determinations (a reopened one is superseded by its next version)."""
    return DeterminationLine.objects.filter(determination__status=Determination.Status.DECIDED, **where).select_related(
        "determination", "member", "determination__branch"
    )


def points_card_determination(*, member, year):
    """The points card's section (registered in ReviewsConfig.ready): one query."""
    return {"line": decided_lines(member=member, determination__year=year).first()}


GRADE_COLUMNS = (
    Column(N("党支部"), TEXT, 16),
    Column(N("学号/工号"), TEXT, 12),
    Column(N("姓名"), TEXT, 10),
    Column(N("年度总分"), POINTS, 9),
    Column(N("排名"), INT, 6),
    Column(N("民主评议等次"), TEXT, 12),
    Column(N("积分结果"), WRAP, 40),
    Column(N("党员大会日期"), DATE, 12),
)


def write_grades_sheet(book, *, organization, year, chunk):
    """The branch workbook's sheet 年度评定: what the branch meeting decided, member by member, with
    the democratic-evaluation grade (registered in ReviewsConfig.ready; docs/formats.md). One query
    for the whole chunk of branches (scoring.exports.BranchChunk)."""
    sheet = book.sheet(_("年度评定"), GRADE_COLUMNS)
    sheet.title(_("%(org)s %(year)s年度党员大会评定结果") % {"org": organization.name, "year": year})
    sheet.header()
    labels = dict(EvaluationGrade.choices)
    lines = chunk.rows(
        "reviews.grades",
        lambda ids: (
            decided_lines(determination__branch_id__in=ids, determination__year=year)
            .order_by("determination__branch__path", "rank", "member__number")
            .iterator(chunk_size=LINE_CHUNK)
        ),
        lambda line: line.determination.branch_id,
    )
    for line in lines:
        sheet.line(
            [
                line.determination.branch.name,
                line.member.number,
                line.member.name,
                None if line.total is None else line.total / 100,
                line.rank,
                str(labels.get(line.grade, "")),
                "；".join(o["reason"] for o in line.outcomes),
                line.determination.meeting_date,
            ]
        )
    sheet.autofilter()
    sheet.done()
