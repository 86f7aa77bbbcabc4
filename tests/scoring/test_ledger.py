"""The ledger, its bounds, the totals derived from it, the scheme workflow and recalculation,
all through scoring.services against the database."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.forms.models import model_to_dict

from members import services as member_services
from members.models import Member
from partyscore.core.exceptions import ApplicationError
from scoring import services
from scoring.models import EntryEvidence, LedgerEntry, MemberOutcome, MemberYearTotal, PeriodKind, Scheme
from scoring.recalculation import recalculate_branch
from scoring.selectors import scheme_for_member
from scoring.tasks import recalculate_branch_task, recalculate_year_task

from ..builders import add_members
from .helpers import YEAR, exempt, period, set_member

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def png(name="证明.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def total_of(member, year=YEAR):
    return MemberYearTotal.objects.get(member=member, year=year)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# ── append-only ──────────────────────────────────────────────────────────────────────────────


def test_the_database_refuses_a_raw_update_of_a_recorded_entry(scoring_world, record):
    entry = record(scoring_world.a1_members[3], "A-C05", "3")
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute('UPDATE "scoring_ledgerentry" SET points = %s WHERE id = %s', [10000, entry.pk])
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(reason="改过的事由")
    assert LedgerEntry.objects.filter(pk=entry.pk, points=300, reason="测试记分").exists()


def test_the_database_refuses_a_raw_delete_of_a_recorded_entry(scoring_world, record):
    entry = record(scoring_world.a1_members[3], "A-C05", "3")
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute('DELETE FROM "scoring_ledgerentry" WHERE id = %s', [entry.pk])
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


# ── corrections ──────────────────────────────────────────────────────────────────────────────


def test_a_correction_is_a_reversing_entry_naming_the_one_it_reverses(scoring_world, record):
    w = scoring_world
    m = w.a1_members[3]
    wrong = record(m, "A-C05", "3")
    assert total_of(m).total == 6150
    reversal = services.entry_reverse(actor=w.recorder, entry=wrong, reason="  记错了人  ")
    assert reversal.reverses == wrong
    assert reversal.points == -wrong.points == -300
    assert (reversal.item, reversal.period, reversal.member, reversal.kind) == (wrong.item, wrong.period, m, "bonus")
    assert reversal.reason == "记错了人"
    assert reversal.source == LedgerEntry.Source.CORRECTION
    assert reversal.recorded_by == w.recorder
    wrong.refresh_from_db()
    assert (wrong.points, wrong.reason) == (300, "测试记分")  # the wrong line itself is untouched
    assert LedgerEntry.objects.filter(member=m).count() == 2
    assert total_of(m).total == 6000


def test_a_correction_needs_a_reason(scoring_world, record):
    entry = record(scoring_world.a1_members[3], "A-C05", "3")
    for reason in ("", "   ", None):
        with pytest.raises(ApplicationError) as error:
            services.entry_reverse(actor=scoring_world.recorder, entry=entry, reason=reason)
        assert error.value.message == "请填写更正理由"
    assert not LedgerEntry.objects.filter(reverses=entry).exists()


def test_an_entry_can_be_reversed_once_and_a_reversal_never(scoring_world, record):
    w = scoring_world
    entry = record(w.a1_members[3], "A-C05", "3")
    reversal = services.entry_reverse(actor=w.recorder, entry=entry, reason="更正")
    with pytest.raises(ApplicationError) as error:
        services.entry_reverse(actor=w.secretary, entry=entry, reason="再次更正")
    assert error.value.message == "该记录已被冲销"
    with pytest.raises(ApplicationError) as error:
        services.entry_reverse(actor=w.recorder, entry=reversal, reason="撤销更正")
    assert error.value.message == "冲销记录不能再冲销"
    assert LedgerEntry.objects.filter(member=w.a1_members[3]).count() == 2


def test_a_locked_periods_entry_is_corrected_only_by_the_organization_department(scoring_world, record):
    w = scoring_world
    entry = record(w.a1_members[3], "A-C05", "3")
    services.period_lock(actor=w.org_department, period=entry.period, committee=w.U)
    entry.refresh_from_db()
    with pytest.raises(ApplicationError, match="已锁定，只有组织部可以更正"):
        services.entry_reverse(actor=w.recorder, entry=entry, reason="更正")
    services.entry_reverse(actor=w.org_department, entry=LedgerEntry.objects.get(pk=entry.pk), reason="更正")
    assert total_of(w.a1_members[3]).total == 6000


# ── bounds: each a clear Chinese ApplicationError ────────────────────────────────────────────


def refused(record, member, code, points, **extra):
    with pytest.raises(ApplicationError) as error:
        record(member, code, points, **extra)
    return error.value.message


@pytest.mark.parametrize("points", ["4.99", "0", "20.01", "21", "-5"])
def test_points_outside_the_items_range_are_refused(scoring_world, record, points):
    message = refused(record, scoring_world.a1_members[3], "A-B04", points)
    assert message == "“遵守党的纪律和规矩”每次分值应在 5—20 分之间"
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("points", ["5", "20", "12.5"])
def test_points_at_the_ends_of_the_range_are_taken(scoring_world, record, points):
    entry = record(scoring_world.a1_members[3], "A-B04", points)
    assert entry.points == -int(Decimal(points) * 100)


@pytest.mark.parametrize("points", ["1.001", "abc", "", "NaN", "Infinity", "-inf"])
def test_points_must_be_a_number_with_at_most_two_decimals(scoring_world, record, points):
    assert refused(record, scoring_world.a1_members[3], "A-C05", points) == "分值须为数字，最多两位小数"


def test_cap_per_period_is_enforced_and_a_reversal_frees_room(scoring_world, record):
    w = scoring_world
    m = w.a1_members[3]
    entries = [record(m, "A-B01", "5") for _ in range(4)]  # cap 20 per semester
    message = refused(record, m, "A-B01", "1")
    assert message == "“按时参加组织生活和“三会一课””本期累计不能超过 20 分（已记 20 分）"
    record(m, "A-B01", "5", index=2)  # the other semester has its own cap
    services.entry_reverse(actor=w.recorder, entry=entries[0], reason="更正")
    record(m, "A-B01", "5")
    assert refused(record, m, "A-B01", "1").endswith("本期累计不能超过 20 分（已记 20 分）")


def branch_scheme_with(w, **item):
    """A1's own detailed rules, derived from the committee's A-staff, with one extra item, approved."""
    draft = services.scheme_derive(actor=w.secretary, source=w.a_staff, owner=w.A1)
    services.item_save(
        actor=w.secretary,
        scheme=draft,
        data={"kind": "bonus", "code": "A1-C01", "title": "支部特色活动", "points_min": 1, "points_max": 5, **item},
    )
    services.scheme_submit(actor=w.secretary, scheme=draft)
    return services.scheme_approve(actor=w.gb_secretary, scheme=draft)


def test_cap_per_year_is_enforced_across_periods(scoring_world, record):
    w = scoring_world
    branch_scheme_with(w, cap_per_year=8)
    m = w.a1_members[3]
    record(m, "A1-C01", "3", index=1)
    record(m, "A1-C01", "3", index=2)
    assert refused(record, m, "A1-C01", "3", index=2) == "“支部特色活动”本年累计不能超过 8 分（已记 6 分）"
    record(m, "A1-C01", "2", index=1)
    assert refused(record, m, "A1-C01", "1", index=1) == "“支部特色活动”本年累计不能超过 8 分（已记 8 分）"
    assert total_of(m).bonus == 800


def test_times_per_period_is_enforced_and_counts_reversals(scoring_world, record):
    w = scoring_world
    m = w.a1_members[3]
    first = record(m, "A-B02", "2")  # dues: once per semester
    assert refused(record, m, "A-B02", "2") == "“按时足额交纳党费”每期最多记 1 次"
    record(m, "A-B02", "2", index=2)
    services.entry_reverse(actor=w.recorder, entry=first, reason="已补交")
    record(m, "A-B02", "3")
    assert refused(record, m, "A-B02", "2") == "“按时足额交纳党费”每期最多记 1 次"


def test_a_locked_period_takes_no_entries(scoring_world, record):
    w = scoring_world
    services.period_lock(actor=w.org_department, period=period(1), committee=w.U)
    assert refused(record, w.a1_members[3], "A-C05", "1") == f"“{YEAR}年第一学期”已锁定，不能再记分"
    record(w.a1_members[3], "A-C05", "1", index=2)
    services.period_reopen(actor=w.org_department, period=period(1), committee=w.U, reason="补录")
    record(w.a1_members[3], "A-C05", "1", index=1)


def test_an_exempted_member_takes_no_entries(scoring_world, record):
    w = scoring_world
    m = exempt(w, w.a1_members[3])
    assert refused(record, m, "A-C05", "1") == "该党员已免于记分"


def test_a_departed_member_takes_no_entries_after_leaving(scoring_world, record):
    w = scoring_world
    m = set_member(w, w.a1_members[3], left_on=datetime.date(YEAR, 5, 10))
    assert refused(record, m, "A-C05", "1", index=2) == "该党员已离开党组织，不能记分"
    record(m, "A-C05", "1", index=1)  # the semester they left in can still be recorded


def test_an_item_outside_the_members_approved_scheme_is_refused(scoring_world, load_b_for_college_b):
    w = scoring_world
    staff = w.a1_members[3]
    for item in (w.a_student.items.get(code="A-C11"), w.b_scheme.items.get(code="B-ADD-01")):
        with pytest.raises(ApplicationError) as error:
            services.entry_record(
                actor=w.recorder, member=staff, item=item, period=period(1), points="2", reason="测试"
            )
        assert error.value.message == f"“{item}”不在本支部已批准的评分细则中"


def test_the_period_must_be_of_the_schemes_kind(scoring_world, record):
    message = refused(record, scoring_world.a1_members[3], "A-C05", "1", kind=PeriodKind.QUARTER)
    assert message == "本细则按学期记分，请选择对应的周期"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_an_entry_needs_a_reason(scoring_world, record, reason):
    assert refused(record, scoring_world.a1_members[3], "A-C05", "1", reason=reason) == "请填写记分事由"


def test_evidence_is_required_where_the_item_says_so(scoring_world, record, media):
    m = scoring_world.a1_members[3]
    assert refused(record, m, "A-C01", "5") == "“教学科研工作业绩突出”须上传佐证材料"
    entry = record(m, "A-C01", "5", evidence=[png()])
    evidence = EntryEvidence.objects.get(entry=entry)
    assert evidence.name == "证明.png"
    assert evidence.uploaded_by == scoring_world.recorder
    assert (
        refused(record, m, "A-C01", "5", evidence=[SimpleUploadedFile("a.exe", b"MZ", "application/x-msdos")])
        == "佐证材料“a.exe”类型不支持，只接受图片或 PDF"
    )


def test_a_user_outside_the_branch_may_not_record_or_correct(scoring_world, record):
    w = scoring_world
    a2_member, b1_member = w.a2_members[3], w.b1_members[3]
    for actor, target in (
        (w.secretary, a2_member),
        (w.recorder, b1_member),
        (w.gb_secretary, w.a1_members[3]),
        (w.member, w.a1_members[3]),
        (w.panel, w.a1_members[3]),
    ):
        with pytest.raises(PermissionDenied):
            record(target, "A-C05", "1", actor=actor)
    assert not LedgerEntry.objects.exists()
    entry = record(a2_member, "A-C05", "1", actor=w.org_department)
    with pytest.raises(PermissionDenied):
        services.entry_reverse(actor=w.recorder, entry=entry, reason="更正")


# ── Policy A totals ──────────────────────────────────────────────────────────────────────────


def test_a_member_with_no_entries_scores_60_in_each_semester_and_60_for_the_year(scoring_world):
    w = scoring_world
    recalculate_branch(branch=w.A1, year=YEAR)
    row = total_of(w.a1_members[3])
    assert (row.total, row.period_scores, row.base, row.bonus, row.penalty, row.vetoed) == (
        6000,
        {"1": 6000, "2": 6000},
        0,
        0,
        0,
        False,
    )
    assert row.scheme == w.a_staff
    assert row.scored


def test_contribution_is_capped_at_40_per_semester(scoring_world, record):
    m = scoring_world.a1_members[3]
    for _ in range(9):
        record(m, "A-C05", "5")  # 45 points of contribution in semester 1
    record(m, "A-C02", "3", index=2)
    row = total_of(m)
    assert row.period_scores == {"1": 10000, "2": 6300}
    assert row.total == 8150
    assert row.bonus == 4800  # the ledger keeps every point; the cap is the semester score's


def test_base_deductions_are_floored_at_zero(scoring_world, record):
    m = scoring_world.a1_members[3]
    for _ in range(4):
        record(m, "A-B04", "20")  # 80 points of deductions from a base of 60
    record(m, "A-C05", "5")
    row = total_of(m)
    assert row.period_scores == {"1": 500, "2": 6000}
    assert (row.total, row.base) == (3250, -8000)


def test_the_annual_total_is_the_mean_of_the_two_semesters(scoring_world, record):
    m = scoring_world.a1_members[3]
    record(m, "A-C05", "3", index=1)
    row = total_of(m)
    assert row.period_scores == {"1": 6300, "2": 6000}
    assert row.total == 6150  # 61.5 points, exactly


def test_a_semester_is_never_above_100(scoring_world, record):
    m = scoring_world.a1_members[3]
    for code in ("A-C02", "A-C04", "A-C05") * 3:
        record(m, code, "5", index=2)
    assert total_of(m).period_scores == {"1": 6000, "2": 10000}
    assert total_of(m).total == 8000


# ── Policy B totals ──────────────────────────────────────────────────────────────────────────


def test_policy_b_is_80_less_deductions_plus_bonus_less_penalty(scoring_world, load_b_for_college_b, record):
    m = scoring_world.b1_members[3]
    record(m, "B-BASE-FEE", "2", index=1)
    record(m, "B-ADD-01", "5", index=2)
    record(m, "B-ADD-02", "1.5", index=3)
    record(m, "B-SUB-01", "3", index=4)
    row = total_of(m)
    assert (row.total, row.base, row.bonus, row.penalty) == (8150, -200, 650, -300)
    assert row.scheme == load_b_for_college_b


def test_policy_b_has_no_upper_cap(scoring_world, load_b_for_college_b, record):
    m = scoring_world.b1_members[3]
    for _ in range(5):
        record(m, "B-ADD-01", "5", index=1)
    assert total_of(m).total == 10500


def test_policy_b_is_floored_at_zero(scoring_world, load_b_for_college_b, record):
    m = scoring_world.b1_members[3]
    for n in range(17):
        record(m, "B-SUB-02", "5", index=n % 4 + 1, recalculate=n == 16)  # 85 points of penalties
    assert (total_of(m).total, total_of(m).penalty) == (0, -8500)


def test_a_veto_makes_the_year_0_and_its_reversal_restores_it(scoring_world, load_b_for_college_b, record):
    w = scoring_world
    m = w.b1_members[3]
    record(m, "B-ADD-01", "5", index=1)
    veto = record(m, "B-VETO-01", "0", index=3)
    assert (total_of(m).total, total_of(m).vetoed) == (0, True)
    outcomes = set(MemberOutcome.objects.filter(member=m, year=YEAR).values_list("rule_code", flat=True))
    assert outcomes == {"B-ADMONISH", "B-UNQUALIFIED"}
    services.entry_reverse(actor=w.org_department, entry=veto, reason="处分撤销")
    assert (total_of(m).total, total_of(m).vetoed) == (8500, False)


def test_a_veto_zeroes_policy_a_too(scoring_world, record):
    w = scoring_world
    draft = services.scheme_derive(actor=w.secretary, source=w.a_staff, owner=w.A1)
    services.item_save(
        actor=w.secretary,
        scheme=draft,
        data={"kind": "veto", "code": "A1-V01", "title": "受到党纪处分", "points_min": 3, "points_max": 3},
    )
    services.scheme_submit(actor=w.secretary, scheme=draft)
    services.scheme_approve(actor=w.gb_secretary, scheme=draft)
    m = w.a1_members[3]
    record(m, "A-C05", "5")
    entry = record(m, "A1-V01", "0", index=2)
    assert entry.points == 0
    assert (total_of(m).total, total_of(m).vetoed) == (0, True)


def test_a_colleges_own_scheme_overrides_the_committees_reference_below_it(scoring_world, load_b_for_college_b, record):
    w = scoring_world
    (student_b1,) = add_members(w.B1, 1, start=50, category=Member.Category.STUDENT)
    assert scheme_for_member(member=w.b1_members[3], year=YEAR) == w.b_scheme
    assert scheme_for_member(member=student_b1, year=YEAR) == w.b_scheme
    assert scheme_for_member(member=w.a1_members[3], year=YEAR) == w.a_staff
    recalculate_branch(branch=w.B1, year=YEAR)
    recalculate_branch(branch=w.A1, year=YEAR)
    assert total_of(w.b1_members[3]).total == 8000
    assert total_of(student_b1).total == 8000
    assert total_of(w.a1_members[3]).total == 6000


# ── scheme workflow ──────────────────────────────────────────────────────────────────────────


def test_derive_submit_and_approve_by_the_general_branch_secretary(scoring_world, django_capture_on_commit_callbacks):
    w = scoring_world
    draft = services.scheme_derive(actor=w.secretary, source=w.a_staff, owner=w.A1)
    assert (draft.status, draft.derived_from, draft.owner, draft.version) == (Scheme.Status.DRAFT, w.a_staff, w.A1, 1)
    assert sorted(draft.items.values_list("code", flat=True)) == sorted(w.a_staff.items.values_list("code", flat=True))
    assert draft.outcome_rules.count() == w.a_staff.outcome_rules.count()
    services.scheme_submit(actor=w.secretary, scheme=draft)
    assert draft.status == Scheme.Status.SUBMITTED
    with django_capture_on_commit_callbacks(execute=True) as sent:
        services.scheme_approve(actor=w.gb_secretary, scheme=draft)
    assert len(sent) == 1  # one recalculation task for the one branch under A1, sent on commit
    draft.refresh_from_db()
    assert (draft.status, draft.decided_by) == (Scheme.Status.APPROVED, w.gb_secretary)
    assert scheme_for_member(member=w.a1_members[3], year=YEAR) == draft
    assert scheme_for_member(member=w.a2_members[3], year=YEAR) == w.a_staff
    assert total_of(w.a1_members[3]).scheme == draft  # approval recalculates the branch


def test_a_branch_secretary_cannot_approve_their_own_branchs_scheme(scoring_world):
    w = scoring_world
    draft = services.scheme_derive(actor=w.secretary, source=w.a_staff, owner=w.A1)
    services.scheme_submit(actor=w.secretary, scheme=draft)
    with pytest.raises(PermissionDenied):
        services.scheme_approve(actor=w.secretary, scheme=draft)
    with pytest.raises(PermissionDenied):
        services.scheme_return(actor=w.secretary, scheme=draft, reason="自己退回")
    draft.refresh_from_db()
    assert draft.status == Scheme.Status.SUBMITTED


def test_only_a_submitted_scheme_can_be_approved(scoring_world):
    w = scoring_world
    draft = services.scheme_derive(actor=w.secretary, source=w.a_staff, owner=w.A1)
    with pytest.raises(ApplicationError, match="不能执行此操作"):
        services.scheme_approve(actor=w.gb_secretary, scheme=draft)


def test_returning_a_scheme_needs_a_reason_and_makes_it_editable_again(scoring_world):
    w = scoring_world
    draft = services.scheme_derive(actor=w.secretary, source=w.a_staff, owner=w.A1)
    services.scheme_submit(actor=w.secretary, scheme=draft)
    for reason in ("", "  ", None):
        with pytest.raises(ApplicationError) as error:
            services.scheme_return(actor=w.gb_secretary, scheme=draft, reason=reason)
        assert error.value.message == "退回时请写明理由"
    services.scheme_return(actor=w.gb_secretary, scheme=draft, reason=" 缺少学生工作项目 ")
    draft.refresh_from_db()
    assert (draft.status, draft.returned_reason) == (Scheme.Status.RETURNED, "缺少学生工作项目")
    services.item_save(
        actor=w.secretary,
        scheme=draft,
        data={"kind": "bonus", "code": "A1-C02", "title": "指导学生党建活动", "points_min": 1, "points_max": 3},
    )
    services.scheme_submit(actor=w.secretary, scheme=draft)
    assert draft.status == Scheme.Status.SUBMITTED


def test_only_an_approved_scheme_can_be_scored_against(scoring_world):
    w = scoring_world
    m = w.a1_members[3]
    draft = services.scheme_derive(actor=w.secretary, source=w.a_staff, owner=w.A1)
    draft_item = draft.items.get(code="A-C05")
    for step in (None, "submit"):
        if step:
            services.scheme_submit(actor=w.secretary, scheme=draft)
        with pytest.raises(ApplicationError, match="不在本支部已批准的评分细则中"):
            services.entry_record(
                actor=w.recorder, member=m, item=draft_item, period=period(1), points="1", reason="测试"
            )
    reference_item = w.a_staff.items.get(code="A-C05")
    services.entry_record(
        actor=w.recorder, member=m, item=reference_item, period=period(1), points="1", reason="细则批准前"
    )
    services.scheme_approve(actor=w.gb_secretary, scheme=draft)
    services.entry_record(actor=w.recorder, member=m, item=draft_item, period=period(1), points="1", reason="测试")
    with pytest.raises(ApplicationError, match="不在本支部已批准的评分细则中"):
        services.entry_record(
            actor=w.recorder, member=m, item=reference_item, period=period(1), points="1", reason="细则批准后"
        )


def test_a_submitted_or_approved_scheme_is_frozen(scoring_world):
    w = scoring_world
    draft = services.scheme_derive(actor=w.secretary, source=w.a_staff, owner=w.A1)
    services.scheme_submit(actor=w.secretary, scheme=draft)
    submitted = draft
    approved_reference = w.a_staff
    item_data = {"kind": "bonus", "code": "X-01", "title": "新增项目", "points_min": 1, "points_max": 2}
    for scheme, actor in ((submitted, w.secretary), (approved_reference, w.org_department)):
        edits = [
            lambda s=scheme, a=actor: services.item_save(actor=a, scheme=s, data=item_data),
            lambda s=scheme, a=actor: services.item_save(
                actor=a, scheme=s, item=s.items.first(), data={"points_max": 50}
            ),
            lambda s=scheme, a=actor: services.item_remove(actor=a, item=s.items.first()),
            lambda s=scheme, a=actor: services.scheme_update(actor=a, scheme=s, data={"base_points": 70}),
            lambda s=scheme, a=actor: services.outcome_rule_remove(actor=a, rule=s.outcome_rules.first()),
        ]
        for edit in edits:
            with pytest.raises(ApplicationError) as error:
                edit()
            assert error.value.message == "已提交或已批准的评分标准不能修改；如需修改请新建版本"
    services.scheme_approve(actor=w.gb_secretary, scheme=submitted)
    with pytest.raises(ApplicationError):
        services.item_save(actor=w.secretary, scheme=submitted, data=item_data)
    fresh = Scheme.objects.get(pk=w.a_staff.pk)
    assert fresh.base_points == 60 and fresh.items.count() == 10 and fresh.outcome_rules.count() == 11


def test_a_scheme_is_derived_only_from_an_approved_scheme_above(scoring_world):
    w = scoring_world
    draft = services.scheme_derive(actor=w.secretary, source=w.a_staff, owner=w.A1)
    with pytest.raises(ApplicationError, match="只能依据已批准的评分标准制定细则"):
        services.scheme_derive(actor=w.org_department, source=draft, owner=w.A1)
    with pytest.raises(PermissionDenied):
        services.scheme_derive(actor=w.secretary, source=w.a_staff, owner=w.A2)


# ── recalculation ────────────────────────────────────────────────────────────────────────────


def snapshot(branch, year=YEAR):
    totals = {
        t.member_id: model_to_dict(t, exclude=["id"]) for t in MemberYearTotal.objects.filter(branch=branch, year=year)
    }
    outcomes = sorted(
        MemberOutcome.objects.filter(branch=branch, year=year).values_list(
            "member_id", "rule_id", "rule_code", "consequence", "reason"
        )
    )
    return totals, outcomes


def varied_ledger(w, record, members):
    for n, m in enumerate(members):
        code, points = ("A-B04", 5 + n % 4) if n % 3 == 0 else ("A-C05", 1 + n % 5)
        record(m, code, str(points), index=n % 2 + 1, recalculate=False)


def test_recalculation_is_idempotent(scoring_world, record):
    w = scoring_world
    set_member(w, w.a1_members[0], is_cadre=True)
    varied_ledger(w, record, w.a1_members)
    recalculate_branch(branch=w.A1, year=YEAR)
    first = snapshot(w.A1)
    assert len(first[0]) == 4 and first[1]
    recalculate_branch(branch=w.A1, year=YEAR)
    assert snapshot(w.A1) == first
    services.recalculate(year=YEAR)
    assert snapshot(w.A1) == first


# Its transaction (2), 6 reads to derive, 4 of the stored rows (by branch, by member), a DELETE
# and an insert per table (every row changed here) and the branch's mark.
RECALCULATION_QUERIES = 17


@pytest.mark.parametrize("size", [5, 40])
def test_recalculation_runs_a_constant_number_of_queries(scoring_world, record, django_assert_num_queries, size):
    w = scoring_world
    members = [*w.a1_members, *add_members(w.A1, size - len(w.a1_members), start=100)]
    set_member(w, members[0], is_cadre=True)
    varied_ledger(w, record, members)
    recalculate_branch(branch=w.A1, year=YEAR)  # earlier rows to replace, and outcomes to read as history
    assert MemberOutcome.objects.filter(branch=w.A1, year=YEAR).exists()
    MemberYearTotal.objects.filter(branch=w.A1).update(rank=999)
    MemberOutcome.objects.filter(branch=w.A1).update(reason="旧的依据")
    with django_assert_num_queries(RECALCULATION_QUERIES):
        assert recalculate_branch(branch=w.A1, year=YEAR) == size
    assert MemberYearTotal.objects.filter(branch=w.A1, year=YEAR, rank__isnull=False).count() == size


def test_a_transferred_member_is_determined_by_the_branch_at_years_end_over_the_whole_ledger(scoring_world, record):
    w = scoring_world
    mover = w.a1_members[3]
    record(mover, "A-C05", "4", index=1)
    member_services.member_transfer(
        actor=w.org_department, member=mover, to_branch=w.A2, transferred_on=datetime.date(YEAR, 9, 1)
    )
    record(mover, "A-C05", "2", index=2, actor=w.org_department)
    recalculate_branch(branch=w.A1, year=YEAR)
    row = total_of(mover)
    assert (row.branch, row.total, row.rank) == (w.A2, 6300, 1)
    assert not MemberYearTotal.objects.filter(branch=w.A1, member=mover).exists()
    assert MemberYearTotal.objects.filter(branch=w.A1, year=YEAR).count() == 3


def test_the_recalculate_command_recomputes_a_year_or_one_subtree(scoring_world, record):
    w = scoring_world
    record(w.a1_members[3], "A-C05", "4", recalculate=False)
    record(w.b1_members[3], "A-C05", "2", recalculate=False)
    out = io.StringIO()
    call_command("recalculate", "--year", str(YEAR), "--org", str(w.B.pk), stdout=out)
    assert "recalculated 4 members" in out.getvalue()
    assert total_of(w.b1_members[3]).total == 6100
    assert not MemberYearTotal.objects.filter(branch=w.A1).exists()
    call_command("recalculate", "--year", str(YEAR), stdout=out)
    assert "recalculated 12 members" in out.getvalue()
    assert total_of(w.a1_members[3]).total == 6200
    assert MemberYearTotal.objects.filter(year=YEAR).count() == 12
    with pytest.raises(CommandError, match="no organization"):
        call_command("recalculate", "--year", str(YEAR), "--org", "999999", stdout=out)


def test_the_celery_tasks_recalculate_a_branch_and_fan_out_a_year(
    scoring_world, record, eager_tasks, django_capture_on_commit_callbacks
):
    w = scoring_world
    record(w.a1_members[3], "A-C05", "4", recalculate=False)
    record(w.a2_members[3], "A-B05", "2", recalculate=False, actor=w.org_department)
    recalculate_branch_task.delay(w.A1.pk, YEAR)
    assert total_of(w.a1_members[3]).total == 6200
    assert not MemberYearTotal.objects.exclude(branch=w.A1).exists()
    with django_capture_on_commit_callbacks(execute=True) as sent:  # the chunks go once the year task commits
        recalculate_year_task.delay(YEAR, organization_id=w.A.pk)
    assert len(sent) == 1  # both branches of college A in one chunk
    assert total_of(w.a2_members[3]).total == 5900
    assert set(MemberYearTotal.objects.values_list("branch__code", flat=True)) == {"A1", "A2"}
