"""Batch decisions on the branch review page (批量通过 / 批量退回): pledges, fulfilment reports
(践诺情况) and declarations (加分申报) ticked in their lists, each returned row with its own reason.
Every decision goes through the single-decision service, all or nothing: a refusal names the row,
decides nothing and keeps everything typed; an id outside the branch refuses the batch."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from members.models import Role
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent, Notification
from reviews import services
from reviews.models import Declaration, FulfilmentReport, Pledge
from reviews.services import BatchRefused, Decision
from tests.builders import add_members, make_user

from .conftest import give
from .pages import html, item


def deed_pledge(w, member, content="为社区老人开设智能手机课堂"):
    pledge = services.pledge_save(actor=member.user, member=member, year=w.year, kind="deed", content=content)
    services.pledges_submit(actor=member.user, member=member, year=w.year)
    pledge.refresh_from_db()
    return pledge


def report(w, member):
    return services.fulfilment_submit(actor=member.user, member=member, period=w.month[1], content="开课两次")


def declaration(w, member, points="2"):
    return services.declaration_submit(
        actor=member.user,
        member=member,
        item=item(w, "B-ADD-01"),
        period=w.q[1],
        points=points,
        reason="在社区宣讲党的政策",
    )


def batch_url(w, kind, branch=None):
    return reverse("branch_decide_batch", args=[(branch or w.A1).pk, kind])


def row_of(page, pledge):
    """The page's row of `pledge`, from its tick to the next row."""
    start = page.index(f'id="pick-pledges-{pledge.pk}"')
    return page[start : page.find("batch-row", start)]


def statuses(model, objects):
    return [model.objects.get(pk=o.pk).status for o in objects]


@pytest.fixture
def pledges(b_year):
    w = b_year
    return [deed_pledge(w, m) for m in w.m[2:5]]


# ── the services ─────────────────────────────────────────────────────────────────────────────


def test_a_batch_of_pledges_is_decided_row_by_row_as_if_singly(b_year, pledges):
    w = b_year
    events, notices = AuditEvent.objects.count(), Notification.objects.count()
    done = services.pledges_decide_batch(
        actor=w.secretary,
        branch=w.A1,
        decisions=[
            Decision(pledges[0].pk, True),
            Decision(pledges[1].pk, False, " 请写明服务时间 "),
            Decision(pledges[2].pk, True, "很好"),
        ],
    )
    assert [p.pk for p in done] == [p.pk for p in pledges]
    assert statuses(Pledge, pledges) == ["approved", "returned", "approved"]
    assert Pledge.objects.get(pk=pledges[1].pk).returned_reason == "请写明服务时间"
    new = AuditEvent.objects.order_by("id")[events:]
    assert [(e.action, e.target_id, e.actor_id) for e in new] == [
        ("pledge.approve", str(pledges[0].pk), w.secretary.pk),
        ("pledge.return", str(pledges[1].pk), w.secretary.pk),
        ("pledge.approve", str(pledges[2].pk), w.secretary.pk),
    ]
    assert [n.reason for n in new] == ["", " 请写明服务时间 ", "很好"]  # as pledge_decide records it
    told = Notification.objects.order_by("id")[notices:]
    assert [(n.user_id, n.message) for n in told] == [
        (w.m[2].user_id, "您的实事承诺已通过审核"),
        (w.m[3].user_id, "您的实事承诺已被退回"),
        (w.m[4].user_id, "您的实事承诺已通过审核"),
    ]


def test_a_return_without_its_reason_decides_nothing_and_names_the_row(b_year, pledges):
    w = b_year
    events = AuditEvent.objects.count()
    with pytest.raises(BatchRefused) as refused:
        services.pledges_decide_batch(
            actor=w.secretary,
            branch=w.A1,
            decisions=[
                Decision(pledges[0].pk, False, "补充细节"),
                Decision(pledges[1].pk, False, "  "),
                Decision(pledges[2].pk, False, ""),
            ],
        )
    assert refused.value.message == "有 2 项未能办理，全部未作决定"
    assert refused.value.errors == {
        pledges[1].pk: f"{w.m[3].name} · 实事承诺：退回时请写明理由",
        pledges[2].pk: f"{w.m[4].name} · 实事承诺：退回时请写明理由",
    }
    assert statuses(Pledge, pledges) == ["submitted"] * 3  # the first row, valid on its own, was undone too
    assert AuditEvent.objects.count() == events
    assert not Notification.objects.filter(message__contains="承诺已").exists()


def test_a_row_decided_meanwhile_refuses_the_batch(b_year, pledges):
    w = b_year
    services.pledge_decide(actor=w.committee, pledge=pledges[0], approve=True)
    with pytest.raises(BatchRefused) as refused:
        services.pledges_decide_batch(actor=w.secretary, branch=w.A1, decisions=[Decision(p.pk, True) for p in pledges])
    assert refused.value.errors == {pledges[0].pk: f"{w.m[2].name} · 实事承诺：当前状态为“已审核”，不能执行此操作"}
    assert statuses(Pledge, pledges) == ["approved", "submitted", "submitted"]


def test_an_id_of_another_branch_refuses_the_batch(b_year, pledges):
    """The committee may review A2 as well, but a batch on A1's page takes A1's rows only."""
    w = b_year
    elsewhere = Pledge.objects.create(
        member=w.a2_members[3], year=w.year, kind="deed", content="外支部", status="submitted"
    )
    with pytest.raises(ApplicationError, match="所选的 1 项不在本支部的待审核列表中，全部未作决定"):
        services.pledges_decide_batch(
            actor=w.org_department, branch=w.A1, decisions=[Decision(pledges[0].pk, True), Decision(elsewhere.pk, True)]
        )
    assert statuses(Pledge, [pledges[0], elsewhere]) == ["submitted", "submitted"]
    with pytest.raises(ApplicationError, match="所选的 1 项不在本支部"):  # an id that is nobody's
        services.pledges_decide_batch(actor=w.secretary, branch=w.A1, decisions=[Decision(10**6, True)])


def test_an_empty_or_repeated_batch_is_refused(b_year, pledges):
    w = b_year
    with pytest.raises(ApplicationError, match="请至少选择一项"):
        services.pledges_decide_batch(actor=w.secretary, branch=w.A1, decisions=[])
    with pytest.raises(ApplicationError, match="同一项不能重复选择"):
        services.pledges_decide_batch(
            actor=w.secretary,
            branch=w.A1,
            decisions=[Decision(pledges[0].pk, True), Decision(pledges[0].pk, False, "重复")],
        )
    assert statuses(Pledge, pledges) == ["submitted"] * 3


def test_only_a_reviewer_of_the_branch_decides_in_bulk(b_year, pledges):
    w = b_year
    a2_secretary = give(w, make_user("a2sec"), Role.BRANCH_SECRETARY, org=w.A2, actor=w.admin)
    for outsider in (w.recorder, w.member, a2_secretary):
        with pytest.raises(PermissionDenied):
            services.pledges_decide_batch(actor=outsider, branch=w.A1, decisions=[Decision(pledges[0].pk, True)])
    assert statuses(Pledge, pledges) == ["submitted"] * 3


def test_fulfilment_reports_are_verified_and_returned_in_bulk(b_year):
    w = b_year
    reports = [report(w, m) for m in w.m[3:5]]
    with pytest.raises(BatchRefused) as refused:
        services.fulfilment_decide_batch(
            actor=w.committee, branch=w.A1, decisions=[Decision(reports[0].pk, True), Decision(reports[1].pk, False)]
        )
    assert refused.value.errors == {reports[1].pk: f"{w.m[4].name} · 2030年1月：退回时请写明理由"}
    assert statuses(FulfilmentReport, reports) == ["submitted", "submitted"]
    events = AuditEvent.objects.count()
    services.fulfilment_decide_batch(
        actor=w.committee,
        branch=w.A1,
        decisions=[Decision(reports[0].pk, True), Decision(reports[1].pk, False, "请附签到表")],
    )
    assert statuses(FulfilmentReport, reports) == ["verified", "returned"]
    assert FulfilmentReport.objects.get(pk=reports[1].pk).answer == "请附签到表"
    assert list(AuditEvent.objects.order_by("id")[events:].values_list("action", flat=True)) == [
        "fulfilment.verify",
        "fulfilment.return",
    ]


def test_declarations_are_passed_and_refused_in_bulk(b_year):
    w = b_year
    declared = [declaration(w, m) for m in w.m[3:5]]
    with pytest.raises(BatchRefused) as refused:
        services.declarations_verify_batch(
            actor=w.secretary, branch=w.A1, decisions=[Decision(d.pk, False) for d in declared]
        )
    assert refused.value.errors[declared[0].pk] == f"{w.m[3].name} · 宣传落实党的路线方针政策：不予通过时请写明理由"
    assert statuses(Declaration, declared) == ["submitted", "submitted"]
    events = AuditEvent.objects.count()
    services.declarations_verify_batch(
        actor=w.secretary,
        branch=w.A1,
        decisions=[Decision(declared[0].pk, True), Decision(declared[1].pk, False, "与第一季度重复")],
    )
    assert statuses(Declaration, declared) == ["verified", "rejected"]
    assert list(AuditEvent.objects.order_by("id")[events:].values_list("action", flat=True)) == [
        "declaration.verify",
        "declaration.reject",
    ]


# ── the page ─────────────────────────────────────────────────────────────────────────────────


def test_the_page_offers_every_row_a_tick_and_a_reason(b_year, pledges, login):
    w = b_year
    page = html(login(w.secretary).get(reverse("branch_reviews", args=[w.A1.pk])))
    form = re.search(rf'<form method="post" action="{batch_url(w, "pledges")}".*?</form>', page, re.S).group(0)
    assert set(re.findall(r'name="ids" value="(\d+)"', form)) == {str(p.pk) for p in pledges}
    assert all(f'name="reason_{p.pk}"' in form for p in pledges)
    assert "全选" in form and 'value="approve">批量通过' in form and 'value="return">批量退回' in form
    # Someone who sees the page but may not review gets the lists without the controls.
    assert 'name="ids"' not in html(login(w.recorder).get(reverse("branch_reviews", args=[w.A1.pk])))


def test_a_batch_posted_from_the_page(b_year, pledges, login):
    w = b_year
    response = login(w.secretary).post(
        batch_url(w, "pledges"),
        {
            "ids": [pledges[0].pk, pledges[2].pk],
            "decision": "return",
            f"reason_{pledges[0].pk}": "写具体些",
            f"reason_{pledges[2].pk}": "补充时间",
            f"reason_{pledges[1].pk}": "未勾选，不办",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("branch_reviews", args=[w.A1.pk])
    assert "已审核 2 项承诺" in html(response)
    assert statuses(Pledge, pledges) == ["returned", "submitted", "returned"]


def test_a_refused_batch_keeps_every_tick_and_reason_and_shows_the_row_its_refusal(b_year, pledges, login):
    w = b_year
    response = login(w.secretary).post(
        batch_url(w, "pledges"),
        {
            "ids": [pledges[0].pk, pledges[1].pk],
            "decision": "return",
            f"reason_{pledges[0].pk}": "写具体些",
            f"reason_{pledges[2].pk}": "留着的字",
        },
    )
    assert response.status_code == 400
    page = html(response)
    assert "有 1 项未能办理，全部未作决定" in page
    assert row_of(page, pledges[1]).count('batch-error">') == 1
    assert f'batch-error">{w.m[3].name} · 实事承诺：退回时请写明理由</div>' in row_of(page, pledges[1])
    assert "batch-error" not in row_of(page, pledges[0]) + row_of(page, pledges[2])
    for pledge in pledges[:2]:
        assert f'value="{pledge.pk}" id="pick-pledges-{pledge.pk}" checked>' in page
    assert f'value="{pledges[2].pk}" id="pick-pledges-{pledges[2].pk}">' in page
    assert f'name="reason_{pledges[0].pk}" value="写具体些"' in page
    assert f'name="reason_{pledges[2].pk}" value="留着的字"' in page
    assert statuses(Pledge, pledges) == ["submitted"] * 3


def test_declarations_and_fulfilment_from_the_page(b_year, login):
    w = b_year
    declared, reports = declaration(w, w.m[3]), report(w, w.m[4])
    client = login(w.committee)
    page = html(client.get(reverse("branch_reviews", args=[w.A1.pk])))
    assert f'id="pick-declarations-{declared.pk}"' in page and f'id="pick-fulfilment-{reports.pk}"' in page
    ok = client.post(batch_url(w, "declarations"), {"ids": [declared.pk], "decision": "approve"}, follow=True)
    assert "已审核 1 项申报" in html(ok) and statuses(Declaration, [declared]) == ["verified"]
    # A verified declaration waits for its publicity: listed, no longer offered for a decision.
    assert f'id="pick-declarations-{declared.pk}"' not in html(ok)
    ok = client.post(batch_url(w, "fulfilment"), {"ids": [reports.pk], "decision": "approve"}, follow=True)
    assert "已核实 1 份践诺报告" in html(ok) and statuses(FulfilmentReport, [reports]) == ["verified"]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"ids": ["abc"], "decision": "approve"}, "所选的项目无效"),
        ({"decision": "approve"}, "请至少选择一项"),
        ({"ids": ["PLEDGE"], "decision": "maybe"}, "请选择批量通过或批量退回"),
        ({"ids": ["PLEDGE"]}, "请选择批量通过或批量退回"),
        ({"ids": ["PLEDGE", "FORGED"], "decision": "approve"}, "所选的 1 项不在本支部的待审核列表中"),
    ],
)
def test_a_malformed_or_forged_post_is_a_refusal_not_an_error(b_year, pledges, login, data, message):
    w = b_year
    forged = Pledge.objects.create(
        member=w.a2_members[0], year=w.year, kind="deed", content="外支部", status="submitted"
    )
    ids = [{"PLEDGE": str(pledges[0].pk), "FORGED": str(forged.pk)}.get(i, i) for i in data.get("ids", [])]
    response = login(w.secretary).post(batch_url(w, "pledges"), {**data, "ids": ids})
    assert response.status_code == 400 and message in html(response)
    assert statuses(Pledge, [*pledges, forged]) == ["submitted"] * 4


def test_the_batch_url_is_refused_outside_the_branch_and_for_an_unknown_list(b_year, pledges, login):
    w = b_year
    data = {"ids": [pledges[0].pk], "decision": "approve"}
    assert login(w.recorder).post(batch_url(w, "pledges"), data).status_code == 403
    assert login(w.secretary).post(batch_url(w, "pledges", branch=w.A2), data).status_code == 403
    assert login(w.secretary).post(batch_url(w, "objections"), data).status_code == 404
    assert login(w.secretary).get(batch_url(w, "pledges")).status_code == 405
    assert statuses(Pledge, pledges) == ["submitted"] * 3


QUERIES = 24  # a Policy B branch page looks up no panel-scoring period (it offered quarterly 考绩 before)


def _lists_of(w, count, start):
    """`count` members of A1 with a submitted pledge, fulfilment report and declaration each."""
    members = add_members(w.A1, count, start=start, with_accounts=True)
    Pledge.objects.bulk_create(
        [Pledge(member=m, year=w.year, kind="deed", content="实事", status="submitted") for m in members]
    )
    FulfilmentReport.objects.bulk_create(
        [FulfilmentReport(member=m, period=w.month[1], content="践诺") for m in members]
    )
    Declaration.objects.bulk_create(
        [Declaration(member=m, item=item(w, "B-ADD-01"), period=w.q[1], points=200, reason="宣讲") for m in members]
    )


@pytest.mark.parametrize("size", [2, 30])
def test_the_branch_page_queries_do_not_grow_with_its_lists(b_year, login, django_assert_num_queries, size):
    w = b_year
    _lists_of(w, size, start=100)
    client = login(w.secretary)
    url = reverse("branch_reviews", args=[w.A1.pk])
    client.get(url)  # warm the session
    with django_assert_num_queries(QUERIES):
        page = html(client.get(url))
    assert page.count('name="ids"') == 3 * size


def test_a_row_decided_by_someone_else_meanwhile_is_named_at_the_top(b_year, pledges, login):
    """The committee member approved one pledge after the secretary's page was loaded: it has left
    the list, so its refusal is named at the top of the page; nothing else is decided."""
    w = b_year
    services.pledge_decide(actor=w.committee, pledge=pledges[0], approve=True)
    response = login(w.secretary).post(
        batch_url(w, "pledges"),
        {"ids": [p.pk for p in pledges], "decision": "return", **{f"reason_{p.pk}": "补充" for p in pledges}},
    )
    assert response.status_code == 400
    page = html(response)
    assert f"{w.m[2].name} · 实事承诺：当前状态为“已审核”，不能执行此操作" in page
    assert f'id="pick-pledges-{pledges[0].pk}"' not in page
    assert statuses(Pledge, pledges) == ["approved", "submitted", "submitted"]
