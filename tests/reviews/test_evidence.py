"""Uploaded evidence (佐证材料) opens through permission-checked views, for exactly those who see the
record it belongs to, with safe headers; the review pages where the decision is taken preview it."""

import re
from urllib.parse import quote

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reviews import services
from reviews.models import SelfAssessment
from scoring import services as scoring
from scoring.models import EntryEvidence
from tests.matrix.evidence import PNG

from .pages import html, item, objection_url, points


def png(name="志愿服务证明.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def entry_with(w, member, upload, code="B-ADD-03"):
    entry = scoring.entry_record(
        actor=w.secretary,
        member=member,
        item=item(w, code),
        period=w.q[1],
        points=2,
        reason="社区服务",
        evidence=[upload],
    )
    return EntryEvidence.objects.get(entry=entry)


def test_an_entry_file_opens_for_the_member_and_the_branch_and_nobody_else(b_year, clock, client):
    w = b_year
    clock(2, 10)
    evidence = entry_with(w, w.m[4], png())
    url = reverse("evidence_entry", args=[evidence.pk])
    for user in (w.m[4].user, w.secretary, w.recorder, w.panel, w.gb_secretary, w.org_department):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, user
        assert b"".join(response.streaming_content) == PNG
    for user in (w.m[3].user, w.mass_rep, w.a2_members[0].user, w.b1_members[0].user):
        client.force_login(user)
        refused = client.get(url)
        assert refused.status_code == 403 and "无权" in html(refused), user
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_headers_inline_image_with_a_chinese_rfc5987_filename(b_year, clock, login):
    w = b_year
    clock(2, 10)
    evidence = entry_with(w, w.m[4], png())
    response = login(w.secretary).get(reverse("evidence_entry", args=[evidence.pk]))
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == f"inline; filename*=utf-8''{quote('志愿服务证明.png')}"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"
    download = login(w.secretary).get(reverse("evidence_entry", args=[evidence.pk]) + "?download")
    assert download["Content-Disposition"].startswith("attachment; filename*=utf-8''")


def test_the_public_media_url_serves_nothing(b_year, clock, login):
    w = b_year
    clock(2, 10)
    evidence = entry_with(w, w.m[4], png())
    assert login(w.secretary).get(evidence.file.url).status_code == 404


def test_html_or_svg_claiming_to_be_an_image_is_never_rendered_inline(b_year, clock, login):
    w = b_year
    clock(2, 10)
    client = login(w.secretary)
    for name, body in (("证明.html", b"<script>alert(1)</script>"), ("证明.svg", b"<svg onload='alert(1)'/>")):
        evidence = entry_with(w, w.m[4], SimpleUploadedFile(name, body, content_type="image/png"))
        response = client.get(reverse("evidence_entry", args=[evidence.pk]))
        assert response["Content-Type"] == "application/octet-stream", name
        assert response["Content-Disposition"].startswith("attachment;"), name
        assert response["X-Content-Type-Options"] == "nosniff"
        # The review page links it as a file, never as an image.
        page = html(client.get(reverse("ledger", args=[w.A1.pk])))
        assert f'<img class="evidence-thumb" src="{reverse("evidence_entry", args=[evidence.pk])}"' not in page
        assert f'href="{reverse("evidence_entry", args=[evidence.pk])}"' in page


def test_a_pdf_opens_inline_under_the_sites_own_policy(b_year, clock, login):
    w = b_year
    clock(2, 10)
    pdf = SimpleUploadedFile("证书.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    evidence = entry_with(w, w.m[4], pdf)
    response = login(w.secretary).get(reverse("evidence_entry", args=[evidence.pk]))
    assert response["Content-Type"] == "application/pdf" and response["Content-Disposition"].startswith("inline;")
    assert (
        "sandbox" not in response["Content-Security-Policy"]
        and "default-src 'self'" in response["Content-Security-Policy"]
    )


def test_a_file_gone_from_storage_is_a_404_not_a_500(b_year, clock, login):
    w = b_year
    clock(2, 10)
    evidence = entry_with(w, w.m[4], png())
    evidence.file.storage.delete(evidence.file.name)
    assert login(w.secretary).get(reverse("evidence_entry", args=[evidence.pk])).status_code == 404


def test_the_web_server_may_send_the_bytes_after_the_check(b_year, clock, login, settings):
    w = b_year
    clock(2, 10)
    evidence = entry_with(w, w.m[4], png())
    url = reverse("evidence_entry", args=[evidence.pk])
    settings.EVIDENCE_SENDFILE = "x-accel-redirect"
    response = login(w.secretary).get(url)
    assert response["X-Accel-Redirect"] == f"/protected-media/{quote(evidence.file.name)}"
    assert response.content == b"" and response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert login(w.a2_members[0].user).get(url).status_code == 403  # the check still comes first
    settings.EVIDENCE_SENDFILE = "x-sendfile"
    response = login(w.secretary).get(url)
    assert response["X-Sendfile"] == quote(evidence.file.path) and response.content == b""


def test_the_declaration_page_previews_the_file_the_committee_verifies(b_year, clock, login):
    w = b_year
    clock(2, 10)
    declaration = services.declaration_submit(
        actor=w.m[4].user,
        member=w.m[4],
        item=item(w, "B-ADD-03"),
        period=w.q[1],
        points=2,
        reason="社区服务",
        evidence=png("社区服务.png"),
    )
    url = reverse("evidence_declaration", args=[declaration.pk])
    page = html(login(w.committee).get(reverse("branch_reviews", args=[w.A1.pk])))
    assert f'<img class="evidence-thumb" src="{url}"' in page and "社区服务.png" in page
    assert login(w.committee).get(url).status_code == 200
    assert f'src="{url}"' in html(login(w.m[4].user).get(reverse("my_reviews")))
    assert login(w.m[4].user).get(url).status_code == 200
    assert login(w.m[3].user).get(url).status_code == 403
    assert login(w.b1_members[0].user).get(url).status_code == 403


def test_a_fulfilment_report_takes_a_file_shown_where_it_is_verified(b_year, clock, login):
    w = b_year
    clock(2, 10)
    client = login(w.m[4].user)
    exe = SimpleUploadedFile("x.exe", b"MZ", content_type="application/x-msdownload")
    bad = client.post(reverse("fulfilment_new"), {"period": w.month[1].pk, "content": "践诺", "evidence": exe})
    assert bad.status_code == 400 and "类型不支持" in html(bad)
    assert not w.m[4].fulfilment_reports.exists()  # nothing kept from the refused form
    assert (
        client.post(
            reverse("fulfilment_new"), {"period": w.month[1].pk, "content": "践诺", "evidence": png("践诺照片.png")}
        ).status_code
        == 302
    )
    report = w.m[4].fulfilment_reports.get()
    url = reverse("evidence_fulfilment", args=[report.pk])
    assert f'<img class="evidence-thumb" src="{url}"' in html(
        login(w.committee).get(reverse("branch_reviews", args=[w.A1.pk]))
    )
    assert login(w.committee).get(url).status_code == 200
    assert login(w.m[3].user).get(url).status_code == 403


def test_the_objection_page_shows_the_disputed_entrys_file_and_the_objections_own(b_year, clock, login):
    w = b_year
    clock(2, 10)
    evidence = entry_with(w, w.m[4], png())
    client = login(w.m[4].user)
    assert (
        client.post(
            objection_url(w.m[4], entry=evidence.entry), {"reason": "分值偏低", "evidence": png("我的说明.png")}
        ).status_code
        == 302
    )
    objection = w.m[4].objections.get()
    page = html(login(w.secretary).get(reverse("objection_detail", args=[objection.pk])))
    own = reverse("evidence_objection", args=[objection.attachments.get().pk])
    assert f'src="{reverse("evidence_entry", args=[evidence.pk])}"' in page and f'src="{own}"' in page
    assert login(w.secretary).get(own).status_code == 200 and login(w.m[4].user).get(own).status_code == 200
    assert login(w.m[3].user).get(own).status_code == 403


def test_a_mass_representative_cannot_name_a_ledger_line_nor_open_its_file(b_year, clock, login):
    """Mass representatives object to what was made public, never to a line of the ledger: neither the
    line nor its file opens for them, and nothing is written."""
    w = b_year
    clock(2, 10)
    evidence = entry_with(w, w.m[4], png())
    client = login(w.mass_rep)
    assert (
        client.post(
            objection_url(w.m[4], entry=evidence.entry), {"reason": "不实", "evidence": png("群众反映.png")}
        ).status_code
        == 403
    )
    assert not w.m[4].objections.exists()
    assert client.get(reverse("evidence_entry", args=[evidence.pk])).status_code == 403


def test_self_assessment_files_are_previewed_for_the_panel_and_kept_on_a_second_save(a_year, clock, login):
    w = a_year
    clock(3, 1)
    member = w.m[4]
    client = login(member.user)
    url = reverse("self_assessment", args=[w.s1.pk])
    c02 = item(w, "A-C02")
    assert client.post(
        url, {**points(w, {"A-C02": 2}), f"note_{c02.pk}": "志愿服务", f"file_{c02.pk}": png("服务时长.png")}
    ).status_code in (200, 302)
    claim = SelfAssessment.objects.get(member=member, period=w.s1).claims.get(item=c02)
    assert claim.evidence
    # Saved again without choosing the file again: the file stays.
    client.post(url, {**points(w, {"A-C02": 3}), f"note_{c02.pk}": "志愿服务"})
    claim = SelfAssessment.objects.get(member=member, period=w.s1).claims.get(item=c02)
    assert claim.points == 300 and claim.evidence
    file_url = reverse("evidence_self_claim", args=[claim.pk])
    assert f'src="{file_url}"' in html(client.get(url))
    panel_page = html(login(w.panel2).get(reverse("panel_member", args=[w.A1.pk, w.s1.pk, member.pk])))
    assert re.search(f'<img class="evidence-thumb" src="{file_url}"', panel_page)
    assert login(w.panel2).get(file_url).status_code == 200
    assert login(w.m[3].user).get(file_url).status_code == 403
