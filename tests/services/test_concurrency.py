"""Simultaneous requests on the real PostgreSQL: each thread has its own connection and its own
transaction, and a barrier releases them together, as when people click at the same instant.

Two people saving the same panel score or determination: one wins, the other is told of the
conflict on the page, nothing is overwritten. The same submission eight times at once: one row.
"""

import datetime
import threading
import zoneinfo

import pytest
import time_machine
from django.db import connections
from django.test import Client
from django.urls import reverse

from members.models import Role
from members.services import role_assign
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent
from reviews import services
from reviews.models import (
    Declaration,
    Determination,
    FulfilmentReport,
    MassEvaluation,
    Objection,
    PanelConfirmation,
    PanelScore,
    Pledge,
    SelfAssessment,
)
from scoring import io_services
from scoring import services as scoring
from scoring.models import ExportJob, LedgerEntry, Period
from tests.builders import build_university, make_user
from tests.reviews.pages import proposed_grades

pytestmark = pytest.mark.usefixtures("append_only_flush")

YEAR = 2030
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
THREADS = 8


def at_once(*calls):
    """Run each call in its own thread, all released together; returns ('ok', value),
    ('refused', Chinese message) or ('error', repr) per call, in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = ("ok", call())
        except ApplicationError as error:
            results[index] = ("refused", error.message)
        except Exception as error:  # reported to the assertion, whatever it is
            results[index] = ("error", repr(error))
        finally:
            connections.close_all()  # this thread's connection, so the test database can be flushed

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    return results


def one_winner(results, refusal):
    """Exactly one call went through; every other one got the ordinary Chinese refusal."""
    assert [kind for kind, _value in results].count("ok") == 1, results
    assert all(value == refusal for kind, value in results if kind != "ok"), results
    return next(value for kind, value in results if kind == "ok")


@pytest.fixture
def year_world(transactional_db):
    """Policy A (staff reference) in A1 in YEAR, the clock on 2 March; A1 has a deputy secretary."""
    with time_machine.travel(datetime.datetime(YEAR, 3, 2, 10, tzinfo=SHANGHAI)):
        w = build_university(size=5)
        scoring.cycle_open(actor=w.org_department, year=YEAR, committee=w.U)
        reference = scoring.scheme_preset_load(actor=w.org_department, preset="A-staff", year=YEAR, owner=w.U)
        derived = scoring.scheme_derive(actor=w.secretary, source=reference, owner=w.A1)
        scoring.scheme_submit(actor=w.secretary, scheme=derived)
        w.scheme = scoring.scheme_approve(actor=w.gb_secretary, scheme=derived)
        w.s1 = Period.objects.get(cycle__year=YEAR, kind="semester", index=1)
        w.march = Period.objects.get(cycle__year=YEAR, kind="month", index=3)
        w.item = w.scheme.items.get(code="A-C02")
        w.scored = w.a1_members[3]
        w.deputy = make_user("deputy", "支部副书记")
        role_assign(
            actor=w.admin,
            user=w.deputy,
            organization=w.A1,
            role=Role.BRANCH_SECRETARY,
            starts_on=datetime.date(YEAR, 1, 2),
        )
        yield w
    Objection.objects.all().delete()  # they point at ledger rows, which the flush empties first


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


# ── two people, one object: optimistic locking through the pages ───────────────────────────


def test_two_saves_of_one_panel_score_one_wins_the_other_is_told(year_world):
    w = year_world
    url = reverse("panel_member", args=[w.A1.pk, w.s1.pk, w.scored.pk])
    field, version = f"points_{w.item.pk}", f"version_{w.item.pk}"
    for round_number, seen in ((1, 0), (2, 1)):  # the first save creates the score, the second changes it
        phone, desk = client_of(w.panel), client_of(w.panel)  # the panelist's phone and office PC
        for client in (phone, desk):
            assert client.get(url).status_code == 200
        results = at_once(
            lambda phone=phone, seen=seen: phone.post(url, {field: "2", version: seen}),
            lambda desk=desk, seen=seen: desk.post(url, {field: "4", version: seen}),
        )
        assert [kind for kind, _value in results] == ["ok", "ok"], results  # no error page
        responses = [value for _kind, value in results]
        assert sorted(r.status_code for r in responses) == [200, 302], results
        winner = next(i for i, r in enumerate(responses) if r.status_code == 302)
        loser = responses[1 - winner]
        page = loser.content.decode()
        assert "评分已被他人修改，请刷新后重试" in page  # the form again, with the conflict message
        score = PanelScore.objects.get(panelist=w.panel, member=w.scored, period=w.s1, item=w.item)
        assert (score.points, score.version) == ((200, 400)[winner], round_number)  # the winner's, kept
        assert f'name="{version}" value="{round_number}"' in page  # the loser retries from what is stored
    assert AuditEvent.objects.filter(action="panel.score").count() == 2


def test_two_secretaries_deciding_one_determination_one_wins_the_other_is_told(year_world):
    w = year_world
    with time_machine.travel(datetime.datetime(YEAR, 12, 20, 10, tzinfo=SHANGHAI)):
        determination = services.determination_prepare(actor=w.secretary, branch=w.A1, year=YEAR)
        url = reverse("determination", args=[w.A1.pk, YEAR])
        first, second = client_of(w.secretary), client_of(w.deputy)
        for client in (first, second):
            assert client.get(url).status_code == 200

        def decide(client, text):
            return client.post(
                url,
                {
                    "meeting_date": f"{YEAR}-12-20",
                    "members_expected": 5,
                    "members_present": 4,
                    "decision": text,
                    "lock_version": determination.lock_version,
                    **proposed_grades(w.A1, YEAR),
                },
                follow=True,
            )

        results = at_once(lambda: decide(first, "书记记录的决定"), lambda: decide(second, "副书记记录的决定"))
    assert [kind for kind, _value in results] == ["ok", "ok"], results
    pages = [value.content.decode() for _kind, value in results]
    # The winner's page after the redirect; the loser's form again, refused (400) with what was typed.
    assert sorted(value.status_code for _kind, value in results) == [200, 400], results
    winners = [i for i, page in enumerate(pages) if "已记录党员大会评定" in page]
    assert len(winners) == 1
    assert "评定已被他人修改，请刷新后重试" in pages[1 - winners[0]]
    determination.refresh_from_db()
    assert determination.decision == ("书记记录的决定", "副书记记录的决定")[winners[0]]
    assert (determination.status, determination.lock_version) == ("decided", 1)
    assert AuditEvent.objects.filter(action="determination.decide").count() == 1


# ── the same submission eight times at once: one row ────────────────────────────────────────


def test_identical_simultaneous_submissions_create_one_record_each(year_world, monkeypatch):
    w = year_world
    member = w.a1_members[4]
    entry = scoring.entry_record(actor=w.recorder, member=member, item=w.item, period=w.s1, points=1, reason="志愿服务")
    monkeypatch.setattr(io_services, "enqueue", lambda *args: None)  # the job stays queued: nothing builds it

    def eight(call):
        return at_once(*[call] * THREADS)

    one_winner(
        eight(
            lambda: services.pledge_save(
                actor=member.user, member=member, year=YEAR, kind="vanguard", content="立足岗位作表率"
            )
        ),
        "该承诺已保存，请勿重复提交",
    )
    assert Pledge.objects.filter(member=member).count() == 1
    one_winner(eight(lambda: services.pledges_submit(actor=member.user, member=member, year=YEAR)), "没有待提交的承诺")
    one_winner(
        eight(
            lambda: services.self_assessment_save(
                actor=member.user, member=member, period=w.s1, claims=[(w.item, "3", "", None)], submit=True
            )
        ),
        "本期自查自评已提交",
    )
    assert SelfAssessment.objects.get(member=member, period=w.s1).claims.count() == 1
    one_winner(
        eight(
            lambda: services.declaration_submit(
                actor=member.user, member=member, item=w.item, period=w.s1, points="2", reason="社区志愿服务"
            )
        ),
        "该申报已提交，请勿重复提交",
    )
    assert Declaration.objects.filter(member=member).count() == 1
    one_winner(
        eight(lambda: services.fulfilment_submit(actor=member.user, member=member, period=w.march, content="按月践诺")),
        "本月践诺情况已提交，请勿重复提交",
    )
    assert FulfilmentReport.objects.filter(member=member).count() == 1
    one_winner(
        eight(lambda: services.objection_raise(actor=member.user, member=member, reason="应为 2 分", entry=entry)),
        "您已就此提出异议，正在办理中",
    )
    assert Objection.objects.filter(member=member).count() == 1
    one_winner(
        eight(
            lambda: services.panel_score_save(
                actor=w.panel, member=w.scored, period=w.s1, scores={w.item: "3"}, versions={w.item.pk: 0}
            )
        ),
        "评分已被他人修改，请刷新后重试",
    )
    assert PanelScore.objects.get(member=w.scored).version == 1
    one_winner(
        eight(lambda: services.panel_confirm(actor=w.secretary, member=w.scored, period=w.s1)), "该党员本期得分已确认"
    )
    assert PanelConfirmation.objects.filter(member=w.scored).count() == 1
    assert sum(LedgerEntry.objects.filter(member=w.scored, source="panel").values_list("points", flat=True)) == 300
    ratings = {m.pk: (4, "") for m in w.a1_members}
    one_winner(
        eight(
            lambda: services.mass_evaluation_submit(
                actor=w.mass_rep, branch=w.A1, year=YEAR, panel_rating=4, branch_rating=4, comments="", ratings=ratings
            )
        ),
        "您已提交过本年度的评议",
    )
    assert MassEvaluation.objects.get(representative=w.mass_rep).ratings.count() == len(ratings)
    jobs = eight(
        lambda: io_services.export_start(
            actor=w.org_department,
            kind=ExportJob.Kind.BRANCH_WORKBOOK,
            organization=w.A1,
            year=YEAR,
            force_background=True,
        )
    )
    assert {kind for kind, _job in jobs} == {"ok"} and len({job.pk for _kind, job in jobs}) == 1, jobs
    assert ExportJob.objects.count() == 1
    prepared = eight(lambda: services.determination_prepare(actor=w.secretary, branch=w.A1, year=YEAR))
    assert {kind for kind, _d in prepared} == {"ok"} and len({d.pk for _kind, d in prepared}) == 1, prepared
    assert Determination.objects.count() == 1
