"""Stored XSS: a script payload in every free-text column is rendered inert on every page and in
every workbook.

The payload is written straight into the database, into every CharField/TextField of the project's
models (a new field is poisoned automatically; only machine-written columns are exempt, by name, with
the reason). Then every page of the authorization matrix is fetched by the widest and the narrowest
role allowed to see it, and every export is downloaded. A page must never contain the payload's
markup unescaped; a workbook must never turn it into a formula. Each poisoned column carries a tag,
so the test also knows which columns were actually shown, and fails for a column shown nowhere that
is not listed as such.
"""

import datetime
import io
import re

import openpyxl
import pytest
from django.apps import apps
from django.db import connection, models
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat, Substr

from partyscore.core.db import append_only_guard, append_only_lift
from scoring.models import ExportJob
from tests.conftest import APPEND_ONLY_TABLES
from tests.test_authorization_matrix import (
    MATRIX,
    ROLES,
    log_in_as,
    matrix_world,  # noqa: F401  (the fixture)
    url_for,
)

PAYLOAD = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
SHORT_PAYLOAD = "<img src=x>"
# Markup that no page of ours contains on its own: its presence means a value went out unescaped.
RAW = ("<script>", "<img src=x")
APPS = ("partyscore", "members", "scoring", "reviews", "dashboards")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Written by code, never typed by a person, and the code depends on their values.
MACHINE_WRITTEN = {
    "partyscore.AuditEvent.action": "an action code such as member.create",
    "partyscore.AuditEvent.target_type": "a model name",
    "partyscore.AuditEvent.target_id": "a primary key",
    "partyscore.AuditEvent.prev_hash": "hash chain",
    "partyscore.AuditEvent.hash": "hash chain",
    "partyscore.ChainAnchor.prev_hash": "hash chain",
    "partyscore.ChainAnchor.hash": "hash chain",
    "dashboards.SpotCheck.seed": "the random seed of the sample",
    "members.User.password": "a password hash",
    "members.Organization.path": "the materialized path of the tree",
    "scoring.LedgerEntry.prev_hash": "hash chain",
    "scoring.LedgerEntry.hash": "hash chain",
    "scoring.OutcomeRule.code": "the rule's code, matched by the outcome engine",
    "scoring.MemberOutcome.rule_code": "copied from OutcomeRule.code",
    "scoring.Deadline.code": "a step code of the year's rhythm",
    "reviews.Determination.checksum": "a hash of the determination",
    "reviews.FollowUp.rule_code": "copied from OutcomeRule.code",
    "reviews.Reminder.code": "a step code of the year's rhythm",
    "reviews.Escalation.code": "a step code of the year's rhythm",
}
# Poisoned, but no page or workbook of the matrix world shows them: kept for the record only, or shown
# only in a state the world does not reach (where the template escapes them as it does everything).
NOT_SHOWN = {
    "members.User.first_name": "unused: the app shows full_name",
    "members.User.last_name": "unused: the app shows full_name",
    "members.User.email": "used only to send mail",
    "members.ApiToken.digest": "compared with a presented token, never shown",
    # Shown only when a deployment switches a notice channel on (none is in the matrix world); the
    # pages are Django templates with autoescaping, as every other page here.
    "members.User.wecom_userid": "on the notices page only while WeCom is switched on",
    "members.User.dingtalk_userid": "on the notices page only while DingTalk is switched on",
    "partyscore.Delivery.address": "on the delivery-failure list, which needs a channel switched on",
    "partyscore.Delivery.channel": "on the delivery-failure list, which needs a channel switched on",
    "partyscore.Delivery.last_error": "on the delivery-failure list, which needs a channel switched on",
    "partyscore.Notification.message": "the Chinese copy e-mailed; pages show the notice from its template (.text)",
    "scoring.ExportJob.error": "shown for a failed job; the world's job succeeded",
    "scoring.EntryEvidence.name": "kept with the file; the link shows the entry",
    "reviews.ObjectionAttachment.name": "shown only as a safe file name (the evidence tag strips markup)",
    "reviews.MeetingAttachment.name": "shown only as a safe file name (the evidence tag strips markup)",
    "scoring.PeriodReopening.reason": "kept for the record (and the audit log)",
    "reviews.PanelScore.note": "kept for the record",
    "scoring.Scheme.returned_reason": "shown once a scheme is returned",
    "reviews.FulfilmentReport.answer": "shown once a report is decided",
    "reviews.Determination.decision": "shown once a determination is decided",
    "reviews.Determination.reopen_reason": "shown once a determination is reopened",
    "dashboards.SpotCheck.conclusion": "shown once a spot check is closed",
    "dashboards.WorkReport.returned_reason": "shown once a report is returned",
}


def text_fields():
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.get_fields():
                if isinstance(field, CharField | models.TextField) and not field.choices:
                    yield f"{model._meta.label}.{field.name}", model, field


def poison_everything():
    """Every free-text column of every row becomes "=" + tag + row id + payload (cut to the column's length,
    the row id keeping unique columns unique). Returns {tag: column}."""
    tags = {}
    for table in APPEND_ONLY_TABLES:
        append_only_lift(connection, table)
    for index, (label, model, field) in enumerate(text_fields()):
        if label in MACHINE_WRITTEN:
            continue
        tag = f"xss{index:03d}x"
        tags[tag] = label
        payload = PAYLOAD if (field.max_length or 1000) >= 24 + len(PAYLOAD) else SHORT_PAYLOAD
        value = Concat(Value(f"={tag}."), Cast("pk", CharField()), Value(payload), output_field=field.__class__())
        if field.max_length:
            value = Substr(value, 1, field.max_length)
        model._base_manager.update(**{field.name: value})
    for table in APPEND_ONLY_TABLES:
        append_only_guard(connection, table)
    return tags


EVIDENCE_TYPES = ("image/", "application/pdf", "application/octet-stream")


def add_the_rows_the_matrix_world_lacks(world):
    """One row in A1 for each table with free text that the matrix world leaves empty (plain rows:
    their text is what is under test, not how they are made)."""
    from django.utils import timezone

    from members.models import MemberStatusEvent, MemberTransfer
    from partyscore.core.models import AccessLog
    from partyscore.dashboards.models import BranchCommendation, WorkReport
    from reviews.models import (
        AnnualReport,
        Escalation,
        MassEvaluation,
        MassRating,
        PanelScore,
        SelfAssessment,
        SelfClaim,
    )
    from scoring.models import EntryEvidence, PeriodReopening

    period, entry, today = world.targets["period"], world.targets["own_entry"], timezone.localdate()
    year, member, item, own = period.cycle.year, entry.member, entry.item, world.targets["self"]
    # Dated ahead: the log shows 50 a page, newest first, and every request before it logs in and out.
    AccessLog.objects.create(
        kind=AccessLog.Kind.LOGIN_FAILED,
        username="x",
        path="/accounts/login/",
        created_at=timezone.now() + datetime.timedelta(hours=1),
    )
    assessment = SelfAssessment.objects.create(member=member, period=period, status="submitted", note="x")
    SelfClaim.objects.create(assessment=assessment, item=item, points=100, note="x")  # on the panel's page
    SelfAssessment.objects.create(member=own, period=period, note="x")  # on the member's
    PanelScore.objects.create(panelist=world.panel, member=member, period=period, item=item, points=100, note="x")
    evaluation = MassEvaluation.objects.create(
        representative=world.mass_rep, branch=world.A1, year=year, panel_rating=4, branch_rating=4, comments="x"
    )
    MassRating.objects.create(evaluation=evaluation, member=member, rating=4, comment="x")
    AnnualReport.objects.create(member=own, year=year, given_on=today, summary="x", recorded_by=world.secretary)
    Escalation.objects.create(
        organization=world.A1,
        subject=world.secretary,
        year=year,
        code="self_assessment",
        title="x",
        due_on=today,
        url="/",
        created_on=today,
    )
    EntryEvidence.objects.create(entry=entry, file="evidence/x.pdf", name="x", uploaded_by=world.admin)
    PeriodReopening.objects.create(period=period, branch=world.A1, until=today, reason="x", reopened_by=world.admin)
    MemberStatusEvent.objects.create(
        member=own, kind="graduated", occurred_on=today, reason="x", recorded_by=world.secretary
    )  # on the member's page
    MemberTransfer.objects.create(
        member=own, from_branch=world.A2, to_branch=world.A1, transferred_on=today, reason="x", recorded_by=world.admin
    )
    WorkReport.objects.create(organization=world.A1, year=year, summary="x", updated_by=world.secretary)
    BranchCommendation.objects.create(
        branch=world.A1, year=year, kind="commend", reason="x", created_by=world.org_department
    )


def requests_to_make(world):
    """(where, role, method, url, data) for every page and every export of the matrix, on the first
    object it is checked with (the others go through the same template), as the narrowest and the
    widest role allowed to see it."""
    for name, checks in MATRIX.items():
        reads = [
            check
            for check in checks
            if check.allowed and (check.method == "GET" or name in ("export_org", "export_member"))
        ]
        for check in reads[:1]:
            allowed = [role for role in ROLES if role in check.allowed]
            target = world.targets.get(check.target)
            url = url_for(name, target, check.kwargs, world)
            data = check.data(world, target) if callable(check.data) else check.data
            for role in sorted({allowed[0], allowed[-1]}):
                kinds = [kind for kind, _label in ExportJob.Kind.choices] if name == "export_org" else [None]
                for kind in kinds:
                    sent = {**data, "kind": kind} if kind else data
                    yield (
                        f"{check.method} {name} [{check.target or '-'}] {kind or ''} as {role}",
                        role,
                        check.method,
                        url,
                        sent,
                    )


def inspect_workbook(content, where, problems):
    book = openpyxl.load_workbook(io.BytesIO(content))
    texts = []
    for sheet in book.worksheets:
        texts.append(sheet.title)
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    if cell.data_type == "f" and "xss" in cell.value:
                        problems.append(f"{where}: {cell.coordinate} of {sheet.title} is a formula: {cell.value[:40]}")
    return "\n".join(texts)


TAG = re.compile(r"xss\d{3}x")


def test_a_payload_in_every_text_field_is_rendered_inert(matrix_world, client):  # noqa: F811
    add_the_rows_the_matrix_world_lacks(matrix_world)
    tags = poison_everything()
    unknown = [label for label in NOT_SHOWN if label not in tags.values()]
    assert not unknown, f"NOT_SHOWN names columns that are not poisoned: {unknown}"
    problems, seen, responses = [], set(), 0
    for where, role, method, url, data in requests_to_make(matrix_world):
        log_in_as(client, matrix_world.users[role])
        response = getattr(client, method.lower())(url, data)
        responses += 1
        content = b"".join(response.streaming_content) if response.streaming else response.content
        if response.get("Content-Type", "").startswith(XLSX_TYPE):
            text = inspect_workbook(content, where, problems)
        elif response.get("Content-Type", "").startswith(EVIDENCE_TYPES):
            # An uploaded file handed back as stored (the evidence views): nothing of ours is rendered in it,
            # and it never renders as a page (tests/reviews/test_evidence.py checks its headers).
            text = ""
        else:
            text = content.decode()
            problems += [f"{where}: unescaped {marker!r}" for marker in RAW if marker in text]
        seen.update(TAG.findall(text))
    shown = {tags[tag] for tag in seen if tag in tags}
    print(f"xss: {len(tags)} columns poisoned, {len(shown)} shown, {responses} responses")
    assert not problems, "\n".join(problems)
    rows = {label for label, model, _field in text_fields() if model._base_manager.exists()}
    missing = sorted(set(tags.values()) - shown - set(NOT_SHOWN))
    assert not missing, (
        "poisoned columns shown on no page: show them (then they are checked), or list them in NOT_SHOWN; "
        f"those without a row in the matrix world: {[m for m in missing if m not in rows]}; all: {missing}"
    )
    assert not (shown & set(NOT_SHOWN)), f"NOT_SHOWN columns that are shown after all: {shown & set(NOT_SHOWN)}"


@pytest.mark.parametrize("template_filter", ["|safe", "mark_safe(", "{% autoescape off"])
def test_no_template_or_view_turns_escaping_off(template_filter):
    """What the sweep cannot see (a page it does not reach) is held by this rule: nothing is marked
    safe except the fixed markup of partyscore/dashboards/views.py (format_html escapes what it puts
    in) and the QR codes, SVGs of paths that segno draws from our own URLs: the two-factor otpauth:// URL and
    the meeting sign-in URL (a meeting id and a hex token)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    allowed = {"partyscore/dashboards/views.py", "members/two_factor.py", "reviews/meeting_views.py"}
    found = []
    for path in [
        *root.glob("templates/**/*.html"),
        *root.glob("*/templates/**/*.html"),
        *(p for app in APPS for p in (root / app).rglob("*.py")),
    ]:
        relative = str(path.relative_to(root))
        if relative not in allowed and "migrations" not in relative and template_filter in path.read_text():
            found.append(relative)
    assert not found, f"{template_filter} in {found}"
