"""An upheld objection against a confirmed panel score on an evidence-required item (A-C01, 须提供佐证材料)
is recorded with the evidence the decision rests on: the objection's own attachments, the member's
self-assessment evidence, or a file the secretary adds on the objection page. Without any, it is
refused and nothing is written: no reversal is left without its corrected line."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent
from reviews import services
from reviews.models import Objection
from scoring.models import EntryEvidence, LedgerEntry, MemberYearTotal

from .pages import html, item

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def png(name="证明.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


@pytest.fixture
def disputed(a_year, clock):
    """M3's first semester: the panel gives A-C01 +10 and the secretary confirms it."""
    w = a_year
    clock(6, 20)
    w.target = w.m[3]
    services.panel_score_save(actor=w.panel, member=w.target, period=w.s1, scores={item(w, "A-C01"): "10"})
    services.panel_confirm(actor=w.secretary, member=w.target, period=w.s1)
    return LedgerEntry.objects.get(member=w.target, item__code="A-C01", source="panel")


def corrected_line(w):
    return LedgerEntry.objects.get(member=w.target, item__code="A-C01", source="correction", reverses__isnull=True)


def test_without_any_evidence_the_uphold_is_refused_and_nothing_is_left_behind(a_year, disputed):
    w = a_year
    objection = services.objection_raise(actor=w.target.user, member=w.target, entry=disputed, reason="只发表一篇")
    lines, audits = LedgerEntry.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ApplicationError, match="须上传佐证材料"):
        services.objection_answer(
            actor=w.secretary, objection=objection, uphold=True, answer="属实，改为5分", corrected_points="5"
        )
    assert LedgerEntry.objects.count() == lines  # no reversal without its corrected line
    assert not LedgerEntry.objects.filter(reverses=disputed).exists()
    assert AuditEvent.objects.count() == audits
    objection.refresh_from_db()
    assert objection.status == "open" and objection.correction is None
    assert MemberYearTotal.objects.get(member=w.target, year=w.year).period_scores["1"] == 7000


def test_the_secretary_adds_a_file_on_the_objection_page_and_the_correction_carries_it(a_year, disputed, login):
    w = a_year
    objection = services.objection_raise(actor=w.target.user, member=w.target, entry=disputed, reason="只发表一篇")
    page = html(login(w.secretary).get(reverse("objection_detail", args=[objection.pk])))
    assert 'enctype="multipart/form-data"' in page and 'name="evidence"' in page
    response = login(w.secretary).post(
        reverse("objection_detail", args=[objection.pk]),
        {
            "action": "answer",
            "uphold": "1",
            "text": "论文一篇属实，改为5分",
            "corrected_points": "5",
            "evidence": png("论文首页.png"),
        },
        follow=True,
    )
    assert "已记录" in html(response)
    objection.refresh_from_db()
    assert objection.status == "upheld" and objection.correction.reverses == disputed
    line = corrected_line(w)
    assert line.points == 500
    assert [e.name for e in line.evidence.all()] == ["论文首页.png"]
    assert objection.attachments.get().uploaded_by == w.secretary
    assert MemberYearTotal.objects.get(member=w.target, year=w.year).period_scores["1"] == 6500


def test_the_objections_own_attachment_is_the_evidence_of_the_correction(a_year, disputed, login):
    w = a_year
    response = login(w.target.user).post(
        reverse("objection_new") + f"?member={w.target.pk}&entry={disputed.pk}",
        {"reason": "只发表一篇，附录用通知", "evidence": png("录用通知.png")},
    )
    assert response.status_code == 302
    objection = Objection.objects.get(entry=disputed)
    assert [a.name for a in objection.attachments.all()] == ["录用通知.png"]
    services.objection_answer(actor=w.secretary, objection=objection, uphold=True, answer="属实", corrected_points="5")
    assert [e.name for e in corrected_line(w).evidence.all()] == ["录用通知.png"]


def test_a_bad_attachment_is_refused_in_chinese_and_the_objection_is_not_raised(a_year, disputed, login):
    w = a_year
    bad = SimpleUploadedFile("a.exe", b"MZ", content_type="application/x-msdownload")
    response = login(w.target.user).post(
        reverse("objection_new") + f"?member={w.target.pk}&entry={disputed.pk}", {"reason": "理由", "evidence": bad}
    )
    assert response.status_code == 400 and "类型不支持" in html(response)
    assert not Objection.objects.exists()


def test_the_self_assessment_evidence_goes_with_the_panel_line_and_its_correction(a_year, clock):
    w = a_year
    clock(6, 20)
    w.target = w.m[3]
    services.self_assessment_save(
        actor=w.target.user,
        member=w.target,
        period=w.s1,
        claims=[(item(w, "A-C01"), "10", "论文两篇", png("论文.png"))],
        submit=True,
    )
    services.panel_score_save(actor=w.panel, member=w.target, period=w.s1, scores={item(w, "A-C01"): "10"})
    services.panel_confirm(actor=w.secretary, member=w.target, period=w.s1)
    panel_line = LedgerEntry.objects.get(member=w.target, item__code="A-C01", source="panel")
    assert [e.name for e in panel_line.evidence.all()] == ["论文.png"]
    objection = services.objection_raise(actor=w.target.user, member=w.target, entry=panel_line, reason="一篇")
    services.objection_answer(actor=w.secretary, objection=objection, uphold=True, answer="属实", corrected_points="5")
    line = corrected_line(w)
    assert line.points == 500 and [e.name for e in line.evidence.all()] == ["论文.png"]
    assert EntryEvidence.objects.filter(entry=line).get().file.name == panel_line.evidence.get().file.name


def test_an_upheld_objection_without_a_new_value_needs_no_evidence(a_year, disputed):
    w = a_year
    objection = services.objection_raise(actor=w.target.user, member=w.target, entry=disputed, reason="并无论文")
    services.objection_answer(actor=w.secretary, objection=objection, uphold=True, answer="属实，撤销")
    assert LedgerEntry.objects.filter(reverses=disputed).exists()
    assert not LedgerEntry.objects.filter(member=w.target, source="correction", reverses__isnull=True).exists()
