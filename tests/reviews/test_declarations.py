"""Member declarations (本人申报, Policy B): a declaration is confirmed into the ledger when its
publicity window closes with no objection upheld; an objection still pending then decides it
later, and one upheld by the organization department after escalation takes the points back."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reviews import services
from reviews.models import Declaration
from scoring.models import LedgerEntry, MemberYearTotal

from .pages import SHANGHAI, html, item, objection_url


def declared_and_publicized(w, *members):
    """Each member declares B-ADD-01 +3; the committee verifies; the window is 12–17 February."""
    declarations = []
    for member in members:
        declaration = services.declaration_submit(
            actor=member.user, member=member, item=item(w, "B-ADD-01"), period=w.q[1], points=3, reason="宣讲"
        )
        services.declaration_verify(actor=w.committee, declaration=declaration, approve=True)
        declarations.append(declaration)
    window = services.publicity_open(
        actor=w.secretary,
        branch=w.A1,
        year=w.year,
        kind="declarations",
        starts_at=datetime.datetime(2030, 2, 12, tzinfo=SHANGHAI),
        ends_at=datetime.datetime(2030, 2, 17, tzinfo=SHANGHAI),
    )
    for declaration in declarations:
        declaration.refresh_from_db()
    return window, *declarations


def test_the_window_offers_an_objection_to_those_who_may_raise_it(b_year, clock, login):
    w = b_year
    clock(2, 10)
    window, d4, d3 = declared_and_publicized(w, w.m[4], w.m[3])
    url = reverse("publicity_detail", args=[window.pk])
    clock(2, 13)
    links = {
        name: html(login(user).get(url))
        for name, user in (("rep", w.mass_rep), ("m4", w.m[4].user), ("m0", w.m[0].user))
    }
    assert f"declaration={d4.pk}" in links["rep"] and f"declaration={d3.pk}" in links["rep"]
    assert f"declaration={d4.pk}" in links["m4"] and f"declaration={d3.pk}" not in links["m4"]
    assert "declaration=" not in links["m0"]
    assert login(w.m[0].user).get(objection_url(w.m[3], declaration=d3)).status_code == 403
    clock(2, 17)
    assert "declaration=" not in html(login(w.mass_rep).get(url))  # the window has ended


def test_a_declaration_confirmed_at_close_is_taken_back_when_the_escalated_objection_is_upheld(b_year, clock, login):
    w, member = b_year, b_year.m[4]
    clock(2, 10)
    _window, declaration = declared_and_publicized(w, member)
    clock(2, 13)
    login(w.mass_rep).post(objection_url(member, declaration=declaration), {"reason": "宣讲并非本人主讲"})
    objection = declaration.objections.get()
    clock(2, 14)
    login(w.secretary).post(
        reverse("objection_detail", args=[objection.pk]),
        {"action": "answer", "uphold": "0", "text": "经核实为本人主讲"},
    )
    services.publicity_close_due(now=datetime.datetime(2030, 2, 18, 7, tzinfo=SHANGHAI))
    declaration.refresh_from_db()
    assert declaration.status == "confirmed" and declaration.entry.points == 300
    assert MemberYearTotal.objects.get(member=member, year=w.year).total == 8300

    clock(2, 20)  # the representative is still not satisfied
    login(w.mass_rep).post(
        reverse("objection_detail", args=[objection.pk]), {"action": "escalate", "reason": "有现场照片为证"}
    )
    clock(2, 25)
    login(w.org_department).post(
        reverse("objection_detail", args=[objection.pk]),
        {"action": "resolve", "uphold": "1", "text": "照片显示主讲另有其人"},
    )
    declaration.refresh_from_db()
    objection.refresh_from_db()
    assert objection.status == "resolved_upheld"
    assert declaration.status == "rejected" and "异议成立" in declaration.answer
    reversal = LedgerEntry.objects.get(reverses=declaration.entry)
    assert (reversal.points, reversal.source) == (-300, "correction")
    assert MemberYearTotal.objects.get(member=member, year=w.year).total == 8000


def test_an_objection_pending_at_close_and_upheld_later_leaves_nothing_in_the_ledger(b_year, clock, login):
    w, member = b_year, b_year.m[4]
    clock(2, 10)
    _window, declaration = declared_and_publicized(w, member)
    clock(2, 13)
    login(w.mass_rep).post(objection_url(member, declaration=declaration), {"reason": "宣讲并非本人主讲"})
    services.publicity_close_due(now=datetime.datetime(2030, 2, 18, 7, tzinfo=SHANGHAI))
    declaration.refresh_from_db()
    assert (declaration.status, declaration.entry) == ("publicized", None)
    clock(2, 19)
    objection = declaration.objections.get()
    login(w.secretary).post(
        reverse("objection_detail", args=[objection.pk]), {"action": "answer", "uphold": "1", "text": "主讲另有其人"}
    )
    declaration.refresh_from_db()
    assert (declaration.status, declaration.entry) == ("rejected", None)
    assert not LedgerEntry.objects.filter(member=member).exists()


def test_what_a_member_may_declare_and_with_what_evidence(b_year, clock, login):
    w, member = b_year, b_year.m[4]
    clock(2, 10)
    client = login(member.user)
    page = html(client.get(reverse("declaration_new")))
    assert item(w, "B-ADD-01").title in page and item(w, "B-SUB-01").title not in page  # penalties are not declared
    not_declarable = client.post(
        reverse("declaration_new"), {"item": item(w, "B-SUB-01").pk, "period": w.q[1].pk, "points": "2", "reason": "x"}
    )
    assert not_declarable.status_code == 400
    no_evidence = client.post(
        reverse("declaration_new"),
        {"item": item(w, "B-ADD-03").pk, "period": w.q[1].pk, "points": "2", "reason": "社区服务"},
    )
    assert "须上传佐证材料" in html(no_evidence)
    exe = SimpleUploadedFile("证明.exe", b"MZ", content_type="application/x-msdownload")
    bad_type = client.post(
        reverse("declaration_new"),
        {"item": item(w, "B-ADD-03").pk, "period": w.q[1].pk, "points": "2", "reason": "社区服务", "evidence": exe},
    )
    assert "类型不支持" in html(bad_type)
    too_many = client.post(
        reverse("declaration_new"),
        {"item": item(w, "B-ADD-01").pk, "period": w.q[1].pk, "points": "6", "reason": "宣讲"},
    )
    assert "每次分值应在 1—5 分之间" in html(too_many)
    pdf = SimpleUploadedFile("证明.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    assert (
        client.post(
            reverse("declaration_new"),
            {"item": item(w, "B-ADD-03").pk, "period": w.q[1].pk, "points": "2", "reason": "社区服务", "evidence": pdf},
        ).status_code
        == 302
    )
    assert list(Declaration.objects.values_list("item__code", "points", "status")) == [("B-ADD-03", 200, "submitted")]
