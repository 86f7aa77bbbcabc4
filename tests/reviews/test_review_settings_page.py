"""The 评议流程设置 page and service: whoever manages a scheme edits its settings with a reason
(audited before/after); a college's or branch's scheme cannot change what the committee fixes
(mass minimum, publicity days, objection reply days), and the committee's change of those goes
down to the schemes derived from its own. Every scheme copy keeps the settings, and each setting
changes what the pipeline does."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from members.models import Role
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent
from reviews import rollover, selectors, services
from reviews.models import Declaration, Pledge, ReviewSettings
from scoring import services as scoring
from scoring.models import Scheme

from .pages import SHANGHAI, html, item
from .test_refusals import elsewhere, pledge_of

BRANCH_CHOICES = {"panel_combination": "median", "declaration_verifier": "meeting", "pledge_audience": "college"}


def url(scheme):
    return reverse("review_settings", args=[scheme.pk])


def test_the_branch_secretary_chooses_what_the_branch_may_with_a_reason_audited(a_year):
    w = a_year
    with pytest.raises(ApplicationError, match="请填写修改理由"):
        services.review_settings_save(actor=w.secretary, scheme=w.scheme, data=BRANCH_CHOICES, reason=" ")
    services.review_settings_save(actor=w.secretary, scheme=w.scheme, data=BRANCH_CHOICES, reason="支部委员会决定")
    saved = ReviewSettings.objects.get(scheme=w.scheme)
    assert (saved.panel_combination, saved.declaration_verifier, saved.pledge_audience) == (
        "median",
        "meeting",
        "college",
    )
    event = AuditEvent.objects.get(action="review_settings.save")
    assert event.reason == "支部委员会决定" and event.actor == w.secretary
    assert event.before["panel_combination"] == "mean" and event.after["panel_combination"] == "median"
    assert event.before["pledge_audience"] == "branch" and event.after["pledge_audience"] == "college"


@pytest.mark.parametrize("who", ["committee", "gb_secretary", "member", "other_secretary"])
def test_only_who_manages_the_scheme_may_change_its_settings(a_year, who):
    w = a_year
    actor = elsewhere(w, Role.BRANCH_SECRETARY) if who == "other_secretary" else getattr(w, who)
    with pytest.raises(PermissionDenied):
        services.review_settings_save(actor=actor, scheme=w.scheme, data=BRANCH_CHOICES, reason="试图修改")
    assert (
        not ReviewSettings.objects.filter(scheme=w.scheme).exists()
        and not AuditEvent.objects.filter(action="review_settings.save").exists()
    )


@pytest.mark.parametrize(
    "field, value", [("mass_min_answers", 2), ("publicity_days", 3), ("objection_answer_days", 30)]
)
def test_a_branch_cannot_change_what_the_committee_fixes(a_year, field, value):
    w = a_year
    with pytest.raises(ApplicationError, match="由校党委统一规定"):
        services.review_settings_save(actor=w.secretary, scheme=w.scheme, data={field: value}, reason="想改")
    assert not ReviewSettings.objects.filter(scheme=w.scheme).exists()


def test_the_committees_fixed_values_go_down_to_derived_schemes_and_the_branch_keeps_its_choices(a_year):
    w = a_year
    reference = w.scheme.derived_from
    services.review_settings_save(
        actor=w.secretary, scheme=w.scheme, data={"pledge_audience": "university"}, reason="全校公示"
    )
    services.review_settings_save(
        actor=w.org_department,
        scheme=reference,
        reason="统一规定",
        data={"mass_min_answers": 7, "publicity_days": 9, "objection_answer_days": 10, "pledge_audience": "college"},
    )
    branch = ReviewSettings.objects.get(scheme=w.scheme)
    assert (branch.mass_min_answers, branch.publicity_days, branch.objection_answer_days) == (7, 9, 10)
    assert branch.pledge_audience == "university"  # the branch's own choice stays
    committee_change = AuditEvent.objects.filter(action="review_settings.save").order_by("pk").last()
    assert committee_change.after["derived_schemes_updated"] == 1


def test_the_committee_gets_a_chinese_error_and_keeps_what_it_typed(a_year, login):
    w = a_year
    reference = w.scheme.derived_from
    client = login(w.org_department)
    page = html(
        client.post(
            url(reference),
            {
                **BRANCH_CHOICES,
                "mass_min_answers": 1,
                "publicity_days": 9,
                "objection_answer_days": 10,
                "reason": "统一规定",
            },
        )
    )
    assert "不能少于 2 人" in page and 'value="9"' in page and "统一规定" in page
    assert not ReviewSettings.objects.filter(scheme=reference).exists()
    page = html(
        client.post(
            url(reference),
            {
                **BRANCH_CHOICES,
                "mass_min_answers": 6,
                "publicity_days": 9,
                "objection_answer_days": 10,
                "reason": "统一规定",
            },
            follow=True,
        )
    )
    assert "评议流程设置已保存" in page
    assert ReviewSettings.objects.get(scheme=reference).mass_min_answers == 6


def test_the_branch_page_shows_the_committees_fields_read_only(a_year, login):
    w = a_year
    client = login(w.secretary)
    assert url(w.scheme) in html(client.get(reverse("scheme_detail", args=[w.scheme.pk])))
    page = html(client.get(url(w.scheme)))
    assert page.count("disabled") == 3 and "由校党委统一规定" in page
    # A forged value of a disabled field is ignored: the committee's value stays.
    response = client.post(
        url(w.scheme),
        {
            **BRANCH_CHOICES,
            "mass_min_answers": 2,
            "publicity_days": 1,
            "objection_answer_days": 1,
            "reason": "改为党员大会审核",
        },
        follow=True,
    )
    assert "评议流程设置已保存" in html(response)
    saved = ReviewSettings.objects.get(scheme=w.scheme)
    assert (saved.declaration_verifier, saved.mass_min_answers, saved.publicity_days) == ("meeting", 5, 5)


# ── carried with every copy of a scheme ──────────────────────────────────────────────────────

CUSTOM = {
    "panel_combination": "median",
    "mass_min_answers": 8,
    "declaration_verifier": "meeting",
    "pledge_audience": "university",
    "publicity_days": 11,
    "objection_answer_days": 12,
}


def _assert_carried(scheme):
    settings = ReviewSettings.objects.get(scheme=scheme)
    assert {f: getattr(settings, f) for f in ReviewSettings.FIELDS} == CUSTOM


def test_a_derived_scheme_keeps_the_settings(a_year):
    w = a_year
    ReviewSettings.objects.create(scheme=w.scheme.derived_from, **CUSTOM)
    a2_secretary = elsewhere(w, Role.BRANCH_SECRETARY)
    _assert_carried(scoring.scheme_derive(actor=a2_secretary, source=w.scheme.derived_from, owner=w.A2))


def test_a_new_version_keeps_the_settings(a_year):
    w = a_year
    ReviewSettings.objects.create(scheme=w.scheme, **CUSTOM)
    _assert_carried(scoring.scheme_new_version(actor=w.secretary, scheme=w.scheme))


def test_next_years_scheme_keeps_the_settings(a_year, django_capture_on_commit_callbacks):
    w = a_year
    ReviewSettings.objects.create(scheme=w.scheme, **CUSTOM)
    with django_capture_on_commit_callbacks(execute=True):
        rollover.rollover_start(actor=w.org_department, committee=w.U, from_year=w.year)
    _assert_carried(Scheme.objects.get(owner=w.A1, year=w.year + 1))


def test_next_years_branch_scheme_still_takes_the_committees_fixed_values(a_year, django_capture_on_commit_callbacks):
    w = a_year
    with django_capture_on_commit_callbacks(execute=True):
        rollover.rollover_start(actor=w.org_department, committee=w.U, from_year=w.year)
    reference, branch = (Scheme.objects.get(owner=owner, year=w.year + 1) for owner in (w.U, w.A1))
    assert branch.derived_from == reference  # as this year's was
    services.review_settings_save(
        actor=w.org_department, scheme=reference, reason="统一规定", data={"mass_min_answers": 8}
    )
    assert ReviewSettings.objects.get(scheme=branch).mass_min_answers == 8


# ── each setting changes what the pipeline does ──────────────────────────────────────────────
# panel_combination and mass_min_answers: tests/reviews/test_review_settings.py.


def test_the_publicity_form_starts_with_the_settings_days(a_year, login):
    w = a_year
    ReviewSettings.objects.create(scheme=w.scheme, publicity_days=9)
    page = html(login(w.secretary).get(reverse("branch_reviews", args=[w.A1.pk])))
    assert 'name="days" value="9"' in page


@pytest.mark.parametrize("days", [7, 12])
def test_an_objection_is_due_after_the_settings_days(a_year, clock, days):
    w, member = a_year, a_year.m[4]
    if days != 7:
        ReviewSettings.objects.create(scheme=w.scheme, objection_answer_days=days)
    clock(7, 1)
    entry = scoring.entry_record(
        actor=w.recorder, member=member, item=item(w, "A-B03"), period=w.s2, points=2, reason="缺席理论学习"
    )
    objection = services.objection_raise(actor=member.user, member=member, reason="有病假条", entry=entry)
    assert objection.due_on == datetime.date(w.year, 7, 1) + datetime.timedelta(days=days)


def _declared(w):
    member = w.m[4]
    return services.declaration_submit(
        actor=member.user, member=member, item=item(w, "B-ADD-01"), period=w.q[1], points=3, reason="宣讲"
    )


def test_by_default_the_branch_committee_verifies_a_declaration(b_year):
    w = b_year
    declaration = services.declaration_verify(actor=w.committee, declaration=_declared(w), approve=True)
    assert (declaration.status, declaration.verifier) == ("verified", "committee")


def test_with_the_general_meeting_the_secretary_records_the_meetings_decision(b_year):
    w = b_year
    ReviewSettings.objects.create(scheme=w.scheme, declaration_verifier="meeting")
    declaration = _declared(w)
    with pytest.raises(ApplicationError, match="请由支部书记登记大会的决定"):
        services.declaration_verify(actor=w.committee, declaration=declaration, approve=True, answer="支委会同意")
    with pytest.raises(ApplicationError, match="请填写大会的日期和决定"):
        services.declaration_verify(actor=w.secretary, declaration=declaration, approve=True)
    assert Declaration.objects.get(pk=declaration.pk).status == "submitted"
    services.declaration_verify(
        actor=w.secretary, declaration=declaration, approve=True, answer="3月5日支部党员大会通过"
    )
    declaration.refresh_from_db()
    assert (declaration.status, declaration.verifier, declaration.answer) == (
        "verified",
        "meeting",
        "3月5日支部党员大会通过",
    )
    assert AuditEvent.objects.get(action="declaration.verify").after["verifier"] == "meeting"


@pytest.mark.parametrize(
    "audience, a2_sees, b1_sees", [("branch", False, False), ("college", True, False), ("university", True, True)]
)
def test_the_pledge_audience_decides_who_sees_the_branchs_pledges(a_year, clock, login, audience, a2_sees, b1_sees):
    w = a_year
    ReviewSettings.objects.create(scheme=w.scheme, pledge_audience=audience)
    pledge = Pledge.objects.get(pk=pledge_of(w, w.m[4]).pk)
    services.pledge_decide(actor=w.secretary, pledge=pledge, approve=True)
    # The form's audience is not what decides: the setting is.
    window = services.publicity_open(
        actor=w.secretary,
        branch=w.A1,
        year=w.year,
        kind="pledges",
        audience="branch",
        starts_at=datetime.datetime(w.year, 1, 3, tzinfo=SHANGHAI),
        ends_at=datetime.datetime(w.year, 1, 10, tzinfo=SHANGHAI),
    )
    assert window.audience == audience
    clock(1, 4)
    for member, sees in ((w.m[3], True), (w.a2_members[3], a2_sees), (w.b1_members[3], b1_sees)):
        listed = list(selectors.publicity_content(actor=member.user, publicity=window))
        assert listed == ([pledge] if sees else [])
        response = login(member.user).get(reverse("publicity_detail", args=[window.pk]))
        assert response.status_code == (200 if sees else 403)
        assert ("争做先锋" in html(response)) is sees


def test_narrowing_the_audience_hides_a_window_already_open(a_year, clock, login):
    w = a_year
    ReviewSettings.objects.create(scheme=w.scheme, pledge_audience="university")
    services.pledge_decide(actor=w.secretary, pledge=Pledge.objects.get(pk=pledge_of(w, w.m[4]).pk), approve=True)
    window = services.publicity_open(
        actor=w.secretary,
        branch=w.A1,
        year=w.year,
        kind="pledges",
        starts_at=datetime.datetime(w.year, 1, 3, tzinfo=SHANGHAI),
        ends_at=datetime.datetime(w.year, 1, 10, tzinfo=SHANGHAI),
    )
    clock(1, 4)
    services.review_settings_save(
        actor=w.secretary, scheme=w.scheme, data={"pledge_audience": "branch"}, reason="只在本支部公示"
    )
    outsider = w.b1_members[3].user
    assert not selectors.publicity_content(actor=outsider, publicity=window).exists()
    assert login(outsider).get(reverse("publicity_detail", args=[window.pk])).status_code == 403
