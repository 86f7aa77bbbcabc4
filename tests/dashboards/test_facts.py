"""The stored per-branch counts follow every change made through the services (the audit log is
their change feed), expire after FACTS_MAX_AGE_MINUTES, and are rebuilt when their shape changes."""

import datetime

from django.urls import reverse
from django.utils import timezone

from partyscore.dashboards import facts, scope
from partyscore.dashboards.models import BranchYearFacts
from reviews import services as reviews
from reviews.models import Pledge

from .helpers import of, pledges_approved


def a1_row(client, world):
    return client.get(reverse("dashboard_org", args=[world.U.pk])).context["progress"]["by_id"][world.A1.pk]


def test_a_pledge_approved_through_its_service_shows_on_the_next_page(dash_world, login):
    w = dash_world
    client = login(w.org_department)
    assert a1_row(client, w).pledges_approved.done == len(pledges_approved(of(w.plan, "A1")))
    waiting = Pledge.objects.filter(member__branch=w.A1, status="submitted").select_related("member")
    for pledge in waiting:
        reviews.pledge_decide(actor=w.secretary, pledge=pledge, approve=True)
    approved_now = len(pledges_approved(of(w.plan, "A1"))) + len(waiting)
    assert a1_row(client, w).pledges_approved.done == approved_now
    a2 = BranchYearFacts.objects.get(branch=w.A2, year=w.year)
    assert a2.audit_mark < BranchYearFacts.objects.get(branch=w.A1, year=w.year).audit_mark  # A2 untouched


def test_a_change_at_the_college_recounts_its_branches_only(dash_world, login):
    w = dash_world
    client = login(w.org_department)
    client.get(reverse("dashboard_org", args=[w.U.pk]))
    marks = dict(BranchYearFacts.objects.values_list("branch_id", "audit_mark"))
    from partyscore.dashboards.services import commendation_record

    commendation_record(actor=w.org_department, branch=w.A, year=w.year, kind="commend", reason="学院工作扎实")
    client.get(reverse("dashboard_org", args=[w.U.pk]))
    after = dict(BranchYearFacts.objects.values_list("branch_id", "audit_mark"))
    assert {pk for pk in after if after[pk] != marks[pk]} == {w.A1.pk, w.A2.pk}


def test_counts_changed_outside_the_services_are_picked_up_when_they_expire(dash_world, login, settings):
    w = dash_world
    client = login(w.org_department)
    before = a1_row(client, w).pledges_submitted.done
    Pledge.objects.filter(member__branch=w.A1).delete()  # not through a service: no audit event
    assert a1_row(client, w).pledges_submitted.done == before  # still the stored count
    BranchYearFacts.objects.filter(branch=w.A1).update(
        computed_at=timezone.now() - datetime.timedelta(minutes=scope.setting("FACTS_MAX_AGE_MINUTES") + 1)
    )
    assert a1_row(client, w).pledges_submitted.done == 0


def test_a_new_shape_of_the_counts_rebuilds_every_row(dash_world, login, settings):
    w = dash_world
    client = login(w.org_department)
    client.get(reverse("dashboard_org", args=[w.U.pk]))
    settings.DASHBOARD_SETTINGS = {"HIGH_SCORE": 90}
    rows = client.get(reverse("dashboard_org", args=[w.U.pk])).context["results"]["by_id"]
    assert rows[w.A2.pk].high == sum(1 for p in of(w.plan, "A2") if p.total >= 9000)
    assert {f.facts["v"] for f in BranchYearFacts.objects.all()} == {facts._facts_version()}


# The audited actions the stored counts ignore (facts.QUIET_ACTIONS), each reviewed: none changes a
# number the counts hold (exports and accounts change nothing; roles are read live, the mass answers
# needed come from the settings; spot checks and work reports are read live).
REVIEWED_QUIET = {
    "ledger.export",
    "ledger.export_download",
    "roster.export",
    "role.assign",
    "role.revoke",
    "spot_check.close",
    "spot_check.draw",
    "spot_check.review",
    "work_report.return",
    "work_report.submit",
    "user.api_token_create",
    "user.api_token_revoke",
    "user.close",
    "user.create",
    "user.email_notifications",
    "user.notify_channels",
    "user.password_change",
    "user.password_reset",
    "user.password_reset_by_manager",
    "user.reopen",
    "user.two_factor_disable",
    "user.two_factor_enable",
    "user.two_factor_reset",
}


def test_every_action_the_counts_ignore_was_reviewed():
    """The counts follow every audit event except the quiet ones. A new action that a quiet prefix
    covers would silently leave the dashboards stale until the counts expire: it must be reviewed
    here (and, if it changes a counted fact, given a prefix of its own)."""
    from partyscore.core.models import ACTION_LABELS

    assert {action for action in ACTION_LABELS if action.startswith(facts.QUIET_ACTIONS)} == REVIEWED_QUIET
