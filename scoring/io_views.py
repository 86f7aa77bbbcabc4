"""Thin views for the ledger exports and the score-card import."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from members import permissions as perms
from members import selectors as member_selectors
from partyscore.core.access_log import Kind, access_log
from partyscore.core.exceptions import ApplicationError
from partyscore.core.filenames import attachment
from partyscore.core.pending_upload import pending_upload_keep, pending_upload_take
from partyscore.core.upload_limit import limit_upload
from partyscore.core.xlsx_safety import TOO_LARGE, read_sheet, read_upload

from . import card_import as cards
from . import io_services
from .exports import content_type
from .io_forms import CardUploadForm, ExportForm, YearForm
from .models import ExportJob
from .views import _year

# A kept export at most this large is sent in one piece; a larger one is streamed from disk.
ONE_PIECE_BYTES = 8 * 1024 * 1024


def _attachment(response, filename):
    return attachment(response, filename)


def _file_response(content, filename):
    """A workbook (or a zip of workbooks) built in memory (a small export)."""
    return _attachment(HttpResponse(content, content_type=content_type(filename)), filename)


# ── exports ──────────────────────────────────────────────────────────────────────────────────


@login_required
@require_safe
def export_center(request):
    """Every scope the user may export, what they may export there, and their background jobs."""
    orgs = perms.orgs_with_perm(request.user, perms.LEDGER_VIEW).order_by("path")
    if not orgs.exists():
        raise PermissionDenied(_("您无权导出积分台账"))
    return render(
        request,
        "scoring/io_exports.html",
        {
            "orgs": orgs,
            "year": _year(request),
            "kinds": ExportJob.Kind.choices,
            "jobs": io_services.export_jobs_of(actor=request.user)[:20],
            "threshold": settings.EXPORT_ASYNC_THRESHOLD,
            "keep_hours": settings.EXPORT_KEEP_HOURS,
            "can_import": perms.orgs_with_perm(request.user, perms.ENTRY_RECORD).exists(),
        },
    )


@login_required
@require_POST
def export_org(request, org_id):
    """A small export comes back as the file; a large one becomes a job and its progress page."""
    organization = member_selectors.branch_get(actor=request.user, branch_id=org_id, perm=perms.LEDGER_VIEW)
    form = ExportForm(request.POST)
    if not form.is_valid():
        return render(
            request, "scoring/io_message.html", {"message": _("请选择导出内容和年度"), "form": form}, status=400
        )
    try:
        result = io_services.export_start(
            actor=request.user,
            kind=form.cleaned_data["kind"],
            organization=organization,
            year=form.cleaned_data["year"],
        )
    except ApplicationError as error:
        return render(request, "scoring/io_message.html", {"message": error.message}, status=400)
    access_log(
        request,
        Kind.EXPORT,
        {
            "export": form.cleaned_data["kind"],
            "organization": organization.code,
            "year": form.cleaned_data["year"],
            "background": isinstance(result, ExportJob),
        },
    )
    if isinstance(result, ExportJob):
        messages.info(request, _("导出内容较多，已转入后台生成，完成后可在此下载"))
        return redirect("export_job", job_id=result.pk)
    return _file_response(result.content, result.filename)


@login_required
@require_POST
def export_member(request, member_id):
    member = member_selectors.member_get(actor=request.user, member_id=member_id)
    form = YearForm(request.POST)
    if not form.is_valid():
        return render(request, "scoring/io_message.html", {"message": _("请选择年度"), "form": form}, status=400)
    result = io_services.member_ledger_export(actor=request.user, member=member, year=form.cleaned_data["year"])
    access_log(
        request, Kind.EXPORT, {"export": "member_ledger", "member": member.number, "year": form.cleaned_data["year"]}
    )
    return _file_response(result.content, result.filename)


@login_required
@require_safe
def export_job(request, job_id):
    """The job's progress (polled by htmx while it runs) and its download link when done."""
    job = io_services.export_job_get(actor=request.user, job_id=job_id)
    template = "scoring/io_job_status.html" if request.htmx else "scoring/io_job.html"
    return render(request, template, {"job": job})


@login_required
@require_safe
def export_job_download(request, job_id):
    try:
        job = io_services.export_job_download(actor=request.user, job_id=job_id)
    except ApplicationError as error:
        return render(
            request, "scoring/io_message.html", {"message": error.message}, status=error.extra.get("status", 400)
        )
    access_log(
        request,
        Kind.EXPORT,
        {"export": job.kind, "job": job.pk, "organization": job.organization.code, "year": job.year},
    )
    if job.file.size <= ONE_PIECE_BYTES:
        with job.file.open("rb") as handle:
            return _file_response(handle.read(), job.filename)
    return attachment(FileResponse(job.file.open("rb"), content_type=content_type(job.filename)), job.filename)


# ── the score-card import ────────────────────────────────────────────────────────────────────


def _require_recorder(user):
    if not perms.orgs_with_perm(user, perms.ENTRY_RECORD).exists():
        raise PermissionDenied(_("您无权导入积分"))


def _import_context(request, form, **extra):
    return {
        "form": form,
        "columns": cards.COLUMNS,
        "branches": perms.orgs_with_perm(request.user, perms.ENTRY_RECORD).filter(kind="branch"),
        **extra,
    }


@csrf_exempt
def card_import_upload(request):
    """Step 1: upload and check every row (nothing is written). The size limit is enforced while
    the body is received, before CSRF and the form read it (Django's documented pattern)."""
    limiter = limit_upload(request, settings.IMPORT_MAX_UPLOAD_BYTES)
    return _card_import_upload(request, limiter)


@csrf_protect
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def _card_import_upload(request, limiter):
    _require_recorder(request.user)
    form = CardUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and limiter.too_large:
        form = CardUploadForm(request.POST, {})
        form.full_clean()  # the file was dropped while it arrived: say why instead of "required"
        limit = settings.IMPORT_MAX_UPLOAD_BYTES // 1024 // 1024
        form.errors["file"] = form.error_class([_(TOO_LARGE) % {"mb": limit}])
        return render(request, "scoring/io_card_import.html", _import_context(request, form), status=413)
    if request.method != "POST" or not form.is_valid():
        return render(
            request, "scoring/io_card_import.html", _import_context(request, form), status=400 if form.errors else 200
        )
    try:
        data = read_upload(form.cleaned_data["file"])
        sheet = read_sheet(data, max_rows=settings.CARD_IMPORT_MAX_ROWS)
        result = cards.card_import(actor=request.user, sheet=sheet, confirm=False)
    except ApplicationError as error:
        form.add_error("file", error.message)
        return render(request, "scoring/io_card_import.html", _import_context(request, form), status=400)
    context = _import_context(request, form, result=result)
    if result.ok:
        context["token"] = pending_upload_keep(request, "card_import", data)
    return render(request, "scoring/io_card_import.html", context, status=200 if result.ok else 400)


@login_required
@require_POST
def card_import_confirm(request):
    """Step 2: record the checked file, all or nothing."""
    _require_recorder(request.user)
    pending = pending_upload_take(request, "card_import")
    try:
        if pending is None:
            raise ApplicationError(_("导入已过期，请重新上传文件"))
        sheet = read_sheet(pending[0], max_rows=settings.CARD_IMPORT_MAX_ROWS)
        result = cards.card_import(actor=request.user, sheet=sheet, confirm=True)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("card_import")
    access_log(
        request,
        Kind.IMPORT,
        {"import": "score_cards", "rows": len(sheet.rows), "created": result.created, "errors": len(result.errors)},
    )
    if not result.ok:
        return render(
            request,
            "scoring/io_card_import.html",
            _import_context(request, CardUploadForm(), result=result),
            status=400,
        )
    messages.success(request, _("已导入 %(n)s 条记分，并已重新计算相关支部的积分") % {"n": result.created})
    return redirect("card_import")


@login_required
@require_safe
def card_template(request, org_id):
    branch = member_selectors.branch_get(actor=request.user, branch_id=org_id, perm=perms.ENTRY_RECORD)
    try:
        content, filename = cards.card_template(actor=request.user, branch=branch)
    except ApplicationError as error:
        return render(request, "scoring/io_message.html", {"message": error.message}, status=400)
    access_log(request, Kind.EXPORT, {"export": "card_template", "organization": branch.code})
    return _file_response(content, filename)
