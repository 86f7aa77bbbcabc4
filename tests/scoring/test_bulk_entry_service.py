"""Many ledger lines at once (scoring.services.entries_record_bulk): the single entry's checks for
every line, counting the batch's own earlier lines; all or nothing; one audit event per line; and a
number of queries that does not grow with the lines."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partyscore.core.models import AuditEvent
from scoring import chain_verify, services
from scoring.models import LedgerEntry, MemberYearTotal
from scoring.services import BulkEntryRefused, EntryLine

from ..builders import add_members
from .helpers import exempt, item_in_force, period


def lines_for(members, code="A-B01", points="2", reason="无故缺席支部党员大会"):
    return [EntryLine(m, item_in_force(m, code), period(1), points, reason) for m in members]


def test_a_batch_is_written_whole_with_an_audit_event_per_line(scoring_world):
    w = scoring_world
    members = w.a1_members[1:4]
    entries = services.entries_record_bulk(actor=w.recorder, lines=lines_for(members))
    assert [e.member for e in entries] == list(members)
    assert all(e.points == -200 and e.recorded_by == w.recorder and e.reason == "无故缺席支部党员大会" for e in entries)
    events = AuditEvent.objects.filter(action="ledger.record").order_by("id")
    assert [(e.target_id, e.after["hash"]) for e in events] == [(str(e.pk), e.hash) for e in entries]
    assert chain_verify.verify().intact
    # The totals are refreshed: the first semester 58 (60 less 2), the second 60, the year their mean.
    assert {t.total for t in MemberYearTotal.objects.filter(member__in=members, year=w.year)} == {5900}


def test_one_refused_line_writes_nothing_and_every_refusal_names_the_member(scoring_world):
    w = scoring_world
    plain, left_alone = w.a1_members[3], exempt(w, w.a1_members[2])
    before = LedgerEntry.objects.count(), AuditEvent.objects.count()
    # A-B01 caps at 20 a period: the batch's own lines count toward it.
    lines = [
        *lines_for([plain] * 4, points="5"),
        *lines_for([plain], points="1"),
        *lines_for([left_alone]),
        *lines_for([w.a1_members[1]], points="9"),
        *lines_for([w.a1_members[0]], reason=" "),
    ]
    with pytest.raises(BulkEntryRefused) as refused:
        services.entries_record_bulk(actor=w.recorder, lines=lines)
    assert [(e.index, e.member) for e in refused.value.errors] == [
        (4, plain),
        (5, left_alone),
        (6, w.a1_members[1]),
        (7, w.a1_members[0]),
    ]
    messages = [e.message for e in refused.value.errors]
    assert "本期累计不能超过 20 分（已记 20 分）" in messages[0]
    assert messages[1] == "该党员已免于记分"
    assert "每次分值应在 1—5 分之间" in messages[2]
    assert messages[3] == "请填写记分事由"
    assert "4 条记分未通过检查" in refused.value.message
    assert (LedgerEntry.objects.count(), AuditEvent.objects.count()) == before


def test_lines_outside_the_actors_branch_are_refused(scoring_world):
    w = scoring_world
    with pytest.raises(PermissionDenied):
        services.entries_record_bulk(actor=w.recorder, lines=lines_for([w.a1_members[3], w.a2_members[0]]))
    assert not LedgerEntry.objects.exists()


def test_an_empty_batch_is_refused(scoring_world):
    with pytest.raises(services.ApplicationError, match="请至少选择一名党员"):
        services.entries_record_bulk(actor=scoring_world.recorder, lines=[])


def test_the_queries_do_not_grow_with_the_lines(scoring_world):
    w = scoring_world
    services.entries_record_bulk(actor=w.recorder, lines=lines_for(add_members(w.A1, 1, start=99)), recalculate=False)
    counts = []
    for start, size in ((100, 5), (200, 40)):
        members = add_members(w.A1, size, start=start)
        lines = lines_for(members)
        with CaptureQueriesContext(connection) as queries:
            services.entries_record_bulk(actor=w.recorder, lines=lines, recalculate=False)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
