"""The democratic-evaluation grade (民主评议等次) recorded at the determination.

Policy A: «积分低于90分，不得确定为年度考核优秀» — 89.5 may not be 优秀, 90 may; a red warning
(below 60) proposes 不合格. Policy B: «记分85分以上，方可评为优秀党员» — 80 may not, 85 may.
"""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse

from partyscore.core.models import AuditEvent
from reviews import grades, services
from reviews.models import Determination, DeterminationLine, EvaluationGrade
from scoring import services as scoring
from scoring.exports import write_branch_workbook
from tests.builders import add_members

from .pages import determination_url, html, item, proposed_grades
from .test_determination_guards import contribute, meeting


def semesters(w, member, first, second):
    contribute(w, member, w.s1, first)
    contribute(w, member, w.s2, second)


@pytest.fixture
def graded_a(a_year, clock):
    """M0 at 90, M1 at 89.5, M4 red at 59 (a 2-point deduction in the second semester), others 60."""
    w = a_year
    clock(12, 15)
    semesters(w, w.m[0], 30, 30)
    semesters(w, w.m[1], 30, 29)
    scoring.entry_record(
        actor=w.recorder, member=w.m[4], item=item(w, "A-B03"), period=w.s2, points=2, reason="缺席理论学习"
    )
    w.determination = services.determination_prepare(actor=w.secretary, branch=w.A1, year=w.year)
    return w


def grade_field(member):
    return f"grade-{member.pk}"


def test_the_form_offers_excellent_only_where_the_outcomes_allow_it_and_proposes_unqualified_after_red(graded_a, login):
    w = graded_a
    page = html(login(w.secretary).get(determination_url(w)))
    proposed = proposed_grades(w.A1, w.year)
    assert proposed[grade_field(w.m[4])] == "unqualified"  # 红色预警 → 不合格 proposed
    assert {proposed[grade_field(m)] for m in w.m[:4]} == {"qualified"}
    for member, offered in ((w.m[0], True), (w.m[1], False), (w.m[4], False)):
        select = page.split(f'name="{grade_field(member)}"')[1].split("</select>")[0]
        assert ('value="excellent"' in select) is offered
        assert 'value="qualified"' in select and 'value="basic"' in select and 'value="unqualified"' in select
    assert page.count("不能评为优秀：不得确定为优秀") == 4  # M1 (89.5), M2 and M3 (60), M4 (59)


def test_an_excellent_grade_below_ninety_is_refused_naming_the_member_and_keeps_the_choices(graded_a, login):
    w = graded_a
    form = {
        **meeting(w.determination, 5),
        grade_field(w.m[0]): "excellent",
        grade_field(w.m[1]): "excellent",
        grade_field(w.m[3]): "basic",
    }
    response = login(w.secretary).post(determination_url(w), form)
    page = html(response)
    assert response.status_code == 400
    assert f"以下党员不能评为优秀：{w.m[1].name}（不得确定为优秀）" in page
    w.determination.refresh_from_db()
    assert w.determination.status == "draft" and not DeterminationLine.objects.exists()
    # What the secretary chose stays selected (the meeting's details too).
    for member, grade in ((w.m[0], "excellent"), (w.m[3], "basic")):
        select = page.split(f'name="{grade_field(member)}"')[1].split("</select>")[0]
        assert f'value="{grade}" selected' in select
    assert 'name="decision"' in page and "党员大会评定" in page


def test_the_grades_are_archived_with_the_determination_in_its_checksum_and_audited(graded_a, login):
    w = graded_a
    form = {**meeting(w.determination, 5), grade_field(w.m[0]): "excellent", grade_field(w.m[3]): "basic"}
    page = html(login(w.secretary).post(determination_url(w), form, follow=True))
    assert "已记录党员大会评定" in page
    determination = Determination.objects.get()
    lines = dict(determination.lines.values_list("member_id", "grade"))
    assert lines == {
        w.m[0].pk: "excellent",
        w.m[1].pk: "qualified",
        w.m[2].pk: "qualified",
        w.m[3].pk: "basic",
        w.m[4].pk: "unqualified",
    }
    assert {row["member"]: row["grade"] for row in determination.snapshot} == lines
    assert determination.checksum == services.snapshot_checksum(determination.snapshot)
    event = AuditEvent.objects.get(action="determination.decide")
    assert event.after["grades"] == {"excellent": 1, "qualified": 2, "basic": 1, "unqualified": 1}
    # The decided page shows each member's grade.
    row = page.split("determination-lines", 1)[1].split(f"<td>{w.m[0].name}</td>", 1)[1].split("</tr>")[0]
    assert '<td class="grade">优秀</td>' in row


def test_every_scored_member_needs_a_grade(graded_a, login):
    w = graded_a
    form = {k: v for k, v in meeting(w.determination, 5).items() if k != grade_field(w.m[2])}
    form[grade_field(w.m[3])] = "outstanding"  # not a grade
    page = html(login(w.secretary).post(determination_url(w), form))
    assert f"请为以下党员选择民主评议等次：{w.m[2].name}、{w.m[3].name}" in page
    assert Determination.objects.get().status == "draft"


def test_an_excluded_member_is_not_graded(graded_a, login):
    """An exempted member is not scored: no grade is asked for or archived."""
    w = graded_a
    member = w.m[3]
    member.exempt, member.exemption_reason = True, "长期病休"
    member.save()
    determination = services.determination_prepare(actor=w.secretary, branch=w.A1, year=w.year)
    from scoring.recalculation import recalculate_branch

    recalculate_branch(branch=w.A1, year=w.year)
    form = meeting(determination, 5)
    assert grade_field(member) not in form
    login(w.secretary).post(determination_url(w), form)
    assert DeterminationLine.objects.get(member=member).grade == ""


def test_policy_b_rates_excellent_only_from_85(b_year, clock):
    w = b_year
    clock(12, 15)
    for code in ("B-ADD-01", "B-ADD-02"):  # 80 + 3 + 2 = 85
        scoring.entry_record(
            actor=w.recorder,
            member=w.m[0],
            item=item(w, code),
            period=w.q[4],
            points=3 if code == "B-ADD-01" else 2,
            reason="支部认定",
        )
    scoring.entry_record(
        actor=w.recorder, member=w.m[1], item=item(w, "B-ADD-01"), period=w.q[4], points=4, reason="支部认定"
    )  # 84
    determination = services.determination_prepare(actor=w.secretary, branch=w.A1, year=w.year)
    base = {m.pk: EvaluationGrade.QUALIFIED for m in w.m}
    with pytest.raises(services.ApplicationError) as refused:
        services.determination_decide(
            actor=w.secretary,
            determination=determination,
            meeting_date=datetime.date(2030, 12, 20),
            members_expected=5,
            members_present=5,
            decision="评定",
            lock_version=determination.lock_version,
            grades={**base, w.m[1].pk: EvaluationGrade.EXCELLENT},
        )
    assert f"{w.m[1].name}（未达到可评为优秀党员的分数）" in refused.value.message
    decided = services.determination_decide(
        actor=w.secretary,
        determination=determination,
        meeting_date=datetime.date(2030, 12, 20),
        members_expected=5,
        members_present=5,
        decision="评定",
        lock_version=determination.lock_version,
        grades={**base, w.m[0].pk: EvaluationGrade.EXCELLENT},
    )
    assert decided.lines.get(member=w.m[0]).grade == "excellent"


def test_the_bar_on_excellent_follows_the_outcome_rules_not_the_numbers():
    """grades.py reads consequences, so a branch's own thresholds are honoured as its rules say."""
    bar = grades.excellent_bar
    assert bar(["priority"], scheme_names_excellence=False) == ""
    assert bar(["not_excellent", "yellow"], scheme_names_excellence=False) == "不得确定为优秀"
    assert bar(["red"], scheme_names_excellence=False) == "红色预警"
    assert bar([], scheme_names_excellence=True) == "未达到可评为优秀党员的分数"
    assert bar(["excellent_eligible"], scheme_names_excellence=True) == ""
    assert grades.proposed_grade(["unqualified"]) == "unqualified"
    assert grades.proposed_grade(["talk"]) == "qualified"


@pytest.mark.parametrize("size", [5, 25])
def test_the_determination_page_takes_the_same_queries_at_any_size(
    a_year, clock, login, django_assert_num_queries, size
):
    w = a_year
    add_members(w.A1, size - 5, start=400)
    clock(12, 15)
    services.determination_prepare(actor=w.secretary, branch=w.A1, year=w.year)
    client = login(w.secretary)
    client.get(determination_url(w))
    with django_assert_num_queries(DETERMINATION_PAGE_QUERIES):
        assert client.get(determination_url(w)).status_code == 200


DETERMINATION_PAGE_QUERIES = 32


def test_the_member_sees_the_grade_on_their_record_and_the_branch_workbook_has_it(graded_a, login):
    w = graded_a
    form = {**meeting(w.determination, 5), grade_field(w.m[0]): "excellent"}
    login(w.secretary).post(determination_url(w), form)
    own = html(login(w.m[0].user).get(reverse("my_reviews")))
    assert "民主评议等次" in own and "优秀" in own
    card = html(login(w.secretary).get(reverse("points_card", args=[w.m[4].pk]) + f"?year={w.year}"))
    assert "民主评议等次" in card and "<strong>不合格</strong>" in card
    output = io.BytesIO()
    write_branch_workbook(output, organization=w.A1, year=w.year)
    book = openpyxl.load_workbook(output)
    sheet = book["年度评定"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(r for r in values if "民主评议等次" in r)
    rows = {
        r[header.index("姓名")]: r[header.index("民主评议等次")]
        for r in values[values.index(header) + 1 :]
        if r[header.index("姓名")]
    }
    assert rows[w.m[0].name] == "优秀" and rows[w.m[4].name] == "不合格" and rows[w.m[1].name] == "合格"
