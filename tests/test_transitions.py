"""Every stateful model moves by its declared table, through partyscore.core.transitions: the row re-read
under a lock, the move refused (in Chinese) when the table does not allow it from the row's status."""

import datetime

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partyscore.core.exceptions import ApplicationError
from partyscore.core.transitions import transition
from tests.builders import build_university
from tests.matrix.world import add_scoring

STATEFUL = sorted(
    (model for model in apps.get_models() if hasattr(model, "TRANSITIONS")), key=lambda model: model._meta.label
)
CASES = [(model._meta.label, action) for model in STATEFUL for action in model.TRANSITIONS]


def statuses(model):
    return [value for value, _label in model._meta.get_field("status").choices]


def test_the_stateful_models_declare_a_table_of_their_own_statuses():
    assert {model._meta.label for model in STATEFUL} == {
        "members.Member",
        "scoring.Scheme",
        "scoring.ExportJob",
        "reviews.Pledge",
        "reviews.FulfilmentReport",
        "reviews.SelfAssessment",
        "reviews.Declaration",
        "reviews.Determination",
        "reviews.Objection",
        "reviews.FollowUp",
        "partyscore.Delivery",
        "dashboards.SpotCheck",
        "dashboards.WorkReport",
    }
    for model in STATEFUL:
        for action, (sources, target) in model.TRANSITIONS.items():
            assert sources and set(sources) | {target} <= set(statuses(model)), (model, action)


def test_a_move_outside_a_transaction_is_refused(monkeypatch):
    """The lock lasts until the transaction ends: without one there would be none."""
    from reviews.models import Pledge

    monkeypatch.setattr(connections["default"], "in_atomic_block", False)  # autocommit (the rows sit in one)
    with pytest.raises(RuntimeError, match="inside one"):
        transition(Pledge(pk=1, status="draft"), "submit")


def make_rows():
    """One saved row of each stateful model."""
    from partyscore.core.models import Delivery, Notification
    from partyscore.dashboards.models import SpotCheck, WorkReport
    from reviews.models import (
        Declaration,
        Determination,
        FollowUp,
        FulfilmentReport,
        Objection,
        Pledge,
        SelfAssessment,
    )
    from scoring.models import ExportJob

    w = build_university()
    _reference, schemes, _entries, period = add_scoring(w)
    member, user, year, today = w.a1_members[3], w.admin, period.cycle.year, datetime.date.today()
    determination = Determination.objects.create(branch=w.A1, year=year)
    rows = [
        member,
        schemes["A1"],
        determination,
        ExportJob.objects.create(
            owner=user,
            kind=ExportJob.Kind.BOARD,
            organization=w.A1,
            year=year,
            expires_at=timezone.now() + datetime.timedelta(hours=1),
        ),
        Pledge.objects.create(member=member, year=year, kind=Pledge.Kind.VANGUARD, content="承诺"),
        FulfilmentReport.objects.create(member=member, period=period, content="践诺"),
        SelfAssessment.objects.create(member=member, period=period),
        Declaration.objects.create(
            member=member, item=schemes["A1"].items.first(), period=period, points=1, reason="申报"
        ),
        Objection.objects.create(raised_by=user, member=member, branch=w.A1, year=year, reason="异议", due_on=today),
        FollowUp.objects.create(
            member=member,
            determination=determination,
            kind=FollowUp.Kind.TALK_SECRETARY,
            rule_code="A-YELLOW",
            reason="黄色预警",
            responsible=w.A1,
            due_on=today,
        ),
        Delivery.objects.create(
            notification=Notification.objects.create(user=user, message="通知"),
            channel="email",
            address="a@example.com",
        ),
        SpotCheck.objects.create(branch=w.A1, year=year, requested=1, seed="s", created_by=user),
        WorkReport.objects.create(organization=w.A1, year=year, summary="总结", updated_by=user),
    ]
    return {type(row)._meta.label: row for row in rows}


@pytest.fixture(scope="module")
def rows(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction rolled back at its end; each test's own
    transaction (the `db` fixture) nests in it and is rolled back after the test."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield make_rows()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def test_every_stateful_model_has_a_row(rows):
    assert set(rows) == {model._meta.label for model in STATEFUL}


# What the models' check constraints ask of a row in that status.
CONSISTENT = {
    ("members.Member", "probationary"): {"probation_start": datetime.date(2020, 1, 1)},
    ("dashboards.WorkReport", "submitted"): {"submitted_at": timezone.now()},
}


@pytest.mark.django_db
@pytest.mark.parametrize(("label", "action"), CASES)
def test_every_declared_move_is_allowed_from_its_sources_only(label, action, rows):
    model = apps.get_model(label)
    row = rows[label]
    sources, target = model.TRANSITIONS[action]
    for status in statuses(model):
        model._base_manager.filter(pk=row.pk).update(status=status, **CONSISTENT.get((label, status), {}))
        # The instance says it may move: only the row's own status may decide.
        row.status = next(iter(sources))
        with transaction.atomic():
            if status in sources:
                assert transition(row, action) == target
                assert row.status == target
            else:
                with pytest.raises(ApplicationError, match="不能执行此操作"):
                    transition(row, action)
                assert row.status == next(iter(sources)), "a refused move leaves the instance alone"


@pytest.mark.django_db
def test_a_refusal_can_say_why_in_the_domains_words(rows):
    row = rows["reviews.FollowUp"]
    type(row).objects.filter(pk=row.pk).update(status="done")
    with transaction.atomic(), pytest.raises(ApplicationError, match=r"^该事项已办理$"):
        transition(row, "complete", "该事项已办理")


@pytest.mark.django_db
def test_a_stale_instance_cannot_move_twice(rows):
    pledge = rows["reviews.Pledge"]
    type(pledge).objects.filter(pk=pledge.pk).update(status="submitted")
    first, second = (type(pledge).objects.get(pk=pledge.pk) for _ in range(2))
    with transaction.atomic():
        transition(first, "approve")
        first.save(update_fields=["status"])
    assert second.status == "submitted"
    with transaction.atomic(), pytest.raises(ApplicationError, match="已审核"):
        transition(second, "approve")


@pytest.mark.django_db
def test_a_service_refuses_the_second_of_two_moves_from_one_state(rows):
    """Two approvals of one submitted scheme, each from its own copy read before either ran."""
    from scoring import services
    from scoring.models import Scheme

    scheme = rows["scoring.Scheme"]
    Scheme.objects.filter(pk=scheme.pk).update(status="submitted")
    first, second = (Scheme.objects.get(pk=scheme.pk) for _ in range(2))
    actor = get_user_model().objects.get(username="org")  # the organization department
    services.scheme_approve(actor=actor, scheme=first)
    with pytest.raises(ApplicationError, match="不能执行此操作"):
        services.scheme_approve(actor=actor, scheme=second)


@pytest.mark.django_db
def test_the_row_is_read_under_a_lock(rows, monkeypatch):
    locks = []
    select_for_update = QuerySet.select_for_update

    def spy(self, *args, **kwargs):
        locks.append((self.model, kwargs))
        return select_for_update(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "select_for_update", spy)
    report = rows["reviews.FulfilmentReport"]
    type(report).objects.filter(pk=report.pk).update(status="submitted")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        transition(report, "verify")
    assert locks == [(type(report), {"no_key": True})]
    if connection.features.has_select_for_no_key_update:
        assert any("FOR NO KEY UPDATE" in query["sql"] for query in queries), queries.captured_queries
    else:
        assert connection.vendor == "sqlite"  # one writer at a time: the lock is the database's own


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@pytest.mark.django_db
def test_postgresql_locks_the_row(rows):
    report = rows["reviews.FulfilmentReport"]
    type(report).objects.filter(pk=report.pk).update(status="submitted")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        transition(report, "verify")
    assert any("FOR NO KEY UPDATE" in query["sql"] for query in queries), queries.captured_queries
