"""Thin views of the dashboards, boards, supervision and work reports: parse, call one selector or
service, render. Out-of-scope objects answer 403 (never 404), so ids cannot be probed."""

import io
from contextlib import closing

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from members import permissions as perms
from members.models import Organization
from partyscore.core.access_log import Kind, access_log
from partyscore.core.exceptions import ApplicationError
from partyscore.core.filenames import attachment
from partyscore.core.filters import list_filters
from scoring.exports import INT, POINTS, TEXT, WRAP, XLSX_TYPE, Book, Column

from . import drilldown, reports
from . import scope as scope_reads
from . import selectors as reads
from . import services as services
from . import supervision as supervision_reads
from .forms import (
    CommendationForm,
    DrillFilterForm,
    ReasonForm,
    SpotCheckCloseForm,
    SpotCheckForm,
    SpotCheckReviewForm,
    WorkReportForm,
)
from .models import SpotCheckItem, WorkReport

MEMBERS_PER_PAGE = 50


def _year(request):
    return scope_reads.parse_year(request.GET.get("year") or request.POST.get("year"))


def _org(request, org_id, perm=perms.LEDGER_VIEW):
    return scope_reads.org_get(actor=request.user, org_id=org_id, perm=perm)


def _xlsx(filename, title, sheets):
    """A small workbook built in memory: `sheets` is [(name, columns, rows)] (rows of plain values)."""
    output = io.BytesIO()
    book = Book(output, title=title)
    for name, columns, rows in sheets:
        sheet = book.sheet(name, columns)
        sheet.title(title)
        sheet.header()
        for row in rows:
            sheet.line(row)
        sheet.autofilter()
    book.close()
    response = HttpResponse(output.getvalue(), content_type=XLSX_TYPE)
    return attachment(response, f"{filename}.xlsx")


def _points(centi):
    return None if centi is None else centi / 100


# ── entry points ─────────────────────────────────────────────────────────────────────────────


@login_required
@require_safe
def dashboard_home(request):
    """Send each user to their dashboard: the top of their scope, their branch, or their own."""
    roots = scope_reads.dashboard_roots(actor=request.user)
    if roots:
        root = roots[0]
        return redirect("dashboard_branch" if root.is_branch else "dashboard_org", org_id=root.pk)
    if getattr(request.user, "member", None) is not None:
        return redirect("dashboard_me")
    messages.info(request, _("您没有可查看的数据看板"))
    return redirect("home")


@login_required
@require_safe
def my_dashboard(request):
    data = reads.member_dashboard(actor=request.user, year=_year(request))
    return render(request, "dashboards/member.html", {**data, "charts": reads.member_charts(data)})


NOT_APPLICABLE = mark_safe('<span class="text-muted">—</span>')


def _step_cell(step):
    """One progress cell: done/expected linking to the members, red when overdue (built here rather
    than by a template include, which costs far more per cell)."""
    if not step.applicable:
        return NOT_APPLICABLE
    css = "text-danger fw-bold overdue" if step.overdue else "text-success" if step.complete else ""
    title = _("截止 %(due)s") % {"due": step.due.isoformat()} if step.due else ""
    cell = format_html('<a href="{}" class="{}" title="{}">{}/{}</a>', step.url, css, title, step.done, step.expected)
    if step.overdue and step.missing_url:
        cell += format_html(' <a class="small text-danger" href="{}">{}</a>', step.missing_url, _("未完成"))
    return cell


def _flag_item(flag):
    """One fairness signal with the publicity records behind it (built here for the same reason as
    the progress cells: a committee's page lists hundreds of them)."""
    item = format_html(
        '<li class="fairness-flag" data-code="{}" data-branch="{}"><strong>{}</strong> · {}：{} <a href="{}">{}</a>',
        flag["code"],
        flag["branch"].pk,
        flag["where"],
        flag["title"],
        flag["detail"],
        flag["url"],
        _("查看"),
    )
    records = flag.get("records")
    if records:
        lines = format_html_join(
            "",
            "<li>{}：{}</li>",
            (
                (
                    title,
                    _("应于 %(due)s 前公示，%(held)s 才公示") % {"due": due.isoformat(), "held": held.isoformat()}
                    if kind == "late"
                    else _("应于 %(due)s 前公示，未公示") % {"due": due.isoformat()},
                )
                for title, kind, due, held in records
            ),
        )
        summary = ngettext("%(n)s 项公示明细", "%(n)s 项公示明细", len(records)) % {"n": len(records)}
        item += format_html(' <details><summary>{}</summary><ul class="mb-0">{}</ul></details>', summary, lines)
    return item + mark_safe("</li>")


@login_required
@require_safe
def org_dashboard(request, org_id):
    org = _org(request, org_id)
    if org.is_branch:
        return redirect(f"{reverse('dashboard_branch', args=[org.pk])}?year={_year(request)}")
    data = reads.org_dashboard(actor=request.user, org=org, year=_year(request))
    for group in data["fairness"]["groups"]:
        group["flag_html"] = [_flag_item(flag) for flag in group["flags"]]
    for row in data["progress_rows"]:
        row.cells = [
            _step_cell(row.pledges_submitted),
            _step_cell(row.pledges_approved),
            *[_step_cell(step) for pair in row.period_cells for step in pair],
        ]
    return render(
        request,
        "dashboards/org.html",
        {
            **data,
            "org": org,
            "year": data["scope"].year,
            "roots": scope_reads.dashboard_roots(actor=request.user),
            "can_oversee": perms.has_org_perm(request.user, perms.OVERSEE, org),
        },
    )


@login_required
@require_safe
def branch_dashboard(request, org_id):
    branch = _org(request, org_id)
    if not branch.is_branch:
        return redirect(f"{reverse('dashboard_org', args=[branch.pk])}?year={_year(request)}")
    data = reads.branch_dashboard(actor=request.user, branch=branch, year=_year(request))
    return render(
        request,
        "dashboards/branch.html",
        {
            **data,
            "branch": branch,
            "year": data["scope"].year,
            "charts": reads.branch_charts(data),
            "can_review": perms.has_org_perm(request.user, perms.MEMBERS_REVIEW, branch),
        },
    )


# ── drill-down and exports ───────────────────────────────────────────────────────────────────


def _drill(request, org_id, filters):
    org = _org(request, org_id)
    scope = scope_reads.scope_for(actor=request.user, org=org, year=_year(request))
    title, target, members = drilldown.drill(scope, filters["metric"], filters)
    return scope, title, target, members


@login_required
@require_safe
@list_filters(DrillFilterForm)
def drill(request, org_id, filters):
    scope, title, target, members = _drill(request, org_id, filters)
    page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    for member in page:
        member.branch_label = scope.branch_label(member.branch)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "dashboards/drill.html",
        {
            "scope": scope,
            "title": title,
            "target": target,
            "page": page,
            "year": scope.year,
            "query": query.urlencode(),
            "export_url": f"{reverse('dashboard_drill_export', args=[org_id])}?{query.urlencode()}",
        },
    )


DRILL_COLUMNS = (
    Column(N("党支部"), TEXT, 20),
    Column(N("学号/工号"), TEXT, 12),
    Column(N("姓名"), TEXT, 10),
    Column(N("类别"), TEXT, 8),
    Column(N("党员身份"), TEXT, 10),
    Column(N("年度总分"), POINTS, 10),
    Column(N("排名"), INT, 6),
)


@login_required
@require_safe
@list_filters(DrillFilterForm)
def drill_export(request, org_id, filters):
    scope, title, target, members = _drill(request, org_id, filters)
    if members.count() > settings.EXPORT_ASYNC_THRESHOLD:
        messages.error(request, _("人数过多，请在“导出台账”中按组织导出"))
        return redirect(f"{reverse('dashboard_drill', args=[org_id])}?{request.GET.urlencode()}")
    access_log(
        request,
        Kind.EXPORT,
        {
            "export": "dashboard_drill",
            "organization": target.code,
            "year": scope.year,
            "metric": request.GET.get("metric", ""),
        },
    )
    # Closed however the workbook ends: an unfinished read would keep SQLite locked (scoring.exports._streams).
    with closing(members.iterator(chunk_size=2000)) as stream:
        rows = (
            [
                scope.branch_label(m.branch),
                m.number,
                m.name,
                m.get_category_display(),
                m.get_status_display(),
                _points(m.year_total),
                m.year_rank,
            ]
            for m in stream
        )
        return _xlsx(
            f"{target.name}-{scope.year}-{title}",
            f"{target.name} {scope.year} {title}",
            [(_("名单"), DRILL_COLUMNS, rows)],
        )


PROGRESS_COLUMNS = (
    Column(N("党组织"), TEXT, 24),
    Column(N("应参与记分"), INT, 10),
    Column(N("评分细则"), TEXT, 16),
    Column(N("已提交承诺"), INT, 10),
    Column(N("承诺已审核"), INT, 10),
    Column(N("群众评议（份）"), INT, 10),
    Column(N("按时公示/应公示"), TEXT, 12),
    Column(N("年度评定"), TEXT, 16),
    Column(N("后续处理 已办/全部"), TEXT, 14),
    Column(N("是否逾期"), TEXT, 8),
)


@login_required
@require_safe
def org_dashboard_export(request, org_id):
    org = _org(request, org_id)
    data = reads.org_dashboard(actor=request.user, org=org, year=_year(request))
    year = data["scope"].year
    progress_rows = [
        [
            ("　" * (r.org.depth - org.depth)) + r.org.name,
            r.expected,
            r.scheme_state,
            r.pledges_submitted.done,
            r.pledges_approved.done,
            r.mass_forms,
            f"{r.publicity.done}/{r.publicity.expected}",
            r.determination_status,
            f"{r.follow_ups.done}/{r.follow_ups.expected}",
            _("是") if r.any_overdue else "",
        ]
        for r in data["progress"]["rows"]
    ]
    periods = data["progress"]["periods"]
    period_columns = tuple(Column(f"{p.name}{label}", TEXT, 14) for p in periods for label in (_("自评"), _("考绩")))
    period_rows = [
        [
            ("　" * (r.org.depth - org.depth)) + r.org.name,
            *[
                f"{getattr(r, attr)[p.pk].done}/{getattr(r, attr)[p.pk].expected}"
                for p in periods
                for attr in ("self_periods", "panel_periods")
            ],
        ]
        for r in data["progress"]["rows"]
    ]
    result_columns = (
        Column(_("党组织"), TEXT, 24),
        Column(_("参与记分"), INT, 10),
        Column(_("平均分"), POINTS, 10),
        *[Column(c, INT, 10) for c in data["results"]["columns"]],
        Column(_("超比例支部数"), INT, 10),
    )
    result_rows = [
        [
            ("　" * (r.org.depth - org.depth)) + r.org.name,
            r.scored,
            _points(r.mean),
            *r.consequence_cells(),
            r.share_broken,
        ]
        for r in data["results"]["rows"]
    ]
    histogram_rows = [[h["name"], h["value"]] for h in data["results"]["histogram"]]
    flag_rows = [[f["branch"].name, f["title"], f["detail"]] for f in data["fairness"]["flags"]]
    access_log(request, Kind.EXPORT, {"export": "dashboard", "organization": org.code, "year": year})
    return _xlsx(
        f"{org.name}-{year}-数据看板",
        f"{org.name} {year} " + _("年度数据看板"),
        [
            (_("进度"), PROGRESS_COLUMNS, progress_rows),
            (_("自评与考绩"), (Column(_("党组织"), TEXT, 24), *period_columns), period_rows),
            (_("结果"), result_columns, result_rows),
            (_("总分分布"), (Column(_("分数段"), TEXT, 14), Column(_("人数"), INT, 10)), histogram_rows),
            (
                _("公平性信号"),
                (Column(_("党支部"), TEXT, 20), Column(_("信号"), TEXT, 24), Column(_("说明"), WRAP, 50)),
                flag_rows,
            ),
        ],
    )


# ── boards ───────────────────────────────────────────────────────────────────────────────────


@login_required
@require_safe
def college_board(request, org_id):
    org = _org(request, org_id)
    if org.is_branch:
        return redirect(f"{reverse('board', args=[org.pk])}?year={_year(request)}")
    data = reads.college_board(actor=request.user, org=org, year=_year(request))
    return render(
        request,
        "dashboards/college_board.html",
        {**data, "org": org, "year": data["scope"].year, "print": "print" in request.GET},
    )


# ── supervision ──────────────────────────────────────────────────────────────────────────────


@login_required
@require_safe
def supervision(request, org_id):
    org = _org(request, org_id)
    scope = scope_reads.scope_for(actor=request.user, org=org, year=_year(request))
    can_oversee = perms.has_org_perm(request.user, perms.OVERSEE, org)
    notice_targets = Organization.objects.filter(pk__in=[o.pk for o in scope.orgs]).exclude(
        kind=Organization.Kind.COMMITTEE
    )
    return render(
        request,
        "dashboards/supervision.html",
        {
            **supervision_reads.supervision(scope),
            "scope": scope,
            "org": org,
            "year": scope.year,
            "can_oversee": can_oversee,
            "spot_form": SpotCheckForm(),
            "notice_form": CommendationForm(organizations=notice_targets),
            "branches": scope.branches,
        },
    )


@login_required
@require_POST
def spot_check_new(request, org_id):
    """Draw a spot check in a branch: the organization itself, or a branch chosen below it."""
    org = _org(request, org_id)
    branch = org
    if not org.is_branch:
        scope = scope_reads.scope_for(actor=request.user, org=org, year=_year(request))
        branch = next((b for b in scope.branches if str(b.pk) == request.POST.get("branch")), None)
        if branch is None:
            raise PermissionDenied(_("请选择您督查范围内的党支部"))
    if not perms.has_org_perm(request.user, perms.OVERSEE, branch):
        raise PermissionDenied(_("只有组织部可以随机抽查"))
    form = SpotCheckForm(request.POST)
    back = f"{reverse('supervision', args=[org.pk])}?year={_year(request)}"
    if not form.is_valid():
        messages.error(request, _("请填写抽查条数（1—%(n)s）") % {"n": scope_reads.setting("SPOT_CHECK_MAX")})
        return redirect(back)
    try:
        check = services.spot_check_draw(
            actor=request.user, branch=branch, year=_year(request), size=form.cleaned_data["size"]
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, _("已随机抽取 %(n)s 条记录，请逐条核查") % {"n": check.items.count()})
    return redirect("spot_check_detail", spot_check_id=check.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def spot_check_detail(request, spot_check_id):
    check, items = supervision_reads.spot_check_get(actor=request.user, spot_check_id=spot_check_id)
    if request.method == "POST":
        if not perms.has_org_perm(request.user, perms.OVERSEE, check.branch):
            raise PermissionDenied(_("只有组织部可以记录抽查结果"))
        try:
            _spot_check_post(request, check)
            messages.success(request, _("已记录"))
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect(request.path)
    return render(
        request,
        "dashboards/spot_check.html",
        {
            "check": check,
            "items": items,
            "close_form": SpotCheckCloseForm(),
            "can_review": perms.has_org_perm(request.user, perms.OVERSEE, check.branch) and check.status == "open",
            "pending": sum(1 for i in items if i.verdict == "pending"),
            "verdicts": SpotCheckReviewForm().fields["verdict"].choices,
        },
    )


def _spot_check_post(request, check):
    """One line's verdict, or the check's conclusion."""
    if request.POST.get("action") == "close":
        form = SpotCheckCloseForm(request.POST)
        if not form.is_valid():
            raise ApplicationError(_("请填写抽查结论"))
        return services.spot_check_close(
            actor=request.user, spot_check=check, conclusion=form.cleaned_data["conclusion"]
        )
    form = SpotCheckReviewForm(request.POST)
    item = (
        SpotCheckItem.objects.filter(pk=form.cleaned_data["item"], spot_check=check).first()
        if form.is_valid()
        else None
    )
    if item is None:
        raise ApplicationError(_("请选择核查结果"))
    return services.spot_check_review(
        actor=request.user, item=item, verdict=form.cleaned_data["verdict"], note=form.cleaned_data["note"]
    )


@login_required
@require_POST
def commendation_new(request, org_id):
    org = _org(request, org_id)
    scope = scope_reads.scope_for(actor=request.user, org=org, year=_year(request))
    targets = Organization.objects.filter(pk__in=[o.pk for o in scope.orgs]).exclude(kind=Organization.Kind.COMMITTEE)
    form = CommendationForm(request.POST, organizations=targets)
    back = f"{reverse('supervision', args=[org.pk])}?year={scope.year}"
    if not perms.has_org_perm(request.user, perms.OVERSEE, org):
        raise PermissionDenied(_("只有组织部可以通报表彰或批评"))
    if not form.is_valid():
        messages.error(request, _("请选择党组织、类别并写明事由"))
        return redirect(back)
    data = form.cleaned_data
    try:
        notice = services.commendation_record(
            actor=request.user,
            branch=data["branch"],
            year=scope.year,
            kind=data["kind"],
            reason=data["reason"],
            loses_award_eligibility=data["loses_award_eligibility"],
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, _("已记录%(kind)s") % {"kind": notice.get_kind_display()})
    return redirect(back)


# ── annual work reports ──────────────────────────────────────────────────────────────────────


@login_required
@require_safe
def work_reports(request, org_id):
    org = _org(request, org_id)
    year = _year(request)
    if org.is_branch:
        return redirect("work_report", org_id=org.pk, year=year)
    return render(
        request,
        "dashboards/work_reports.html",
        {**reports.work_reports_overview(actor=request.user, org=org, year=year), "org": org, "year": year},
    )


REPORT_STATUS_COLUMNS = (
    Column(N("党组织"), TEXT, 24),
    Column(N("层级"), TEXT, 14),
    Column(N("状态"), TEXT, 10),
    Column(N("上报时间"), TEXT, 18),
    Column(N("上报人"), TEXT, 12),
    Column(N("是否逾期"), TEXT, 8),
)


@login_required
@require_safe
def work_reports_export(request, org_id):
    org = _org(request, org_id)
    year = _year(request)
    data = reports.work_reports_overview(actor=request.user, org=org, year=year)
    rows = [
        [
            r["org"].name,
            r["org"].get_kind_display(),
            r["status"],
            f"{r['report'].submitted_at:%Y-%m-%d %H:%M}" if r["report"] and r["report"].submitted_at else "",
            r["report"].submitted_by.get_full_name() if r["report"] and r["report"].submitted_by else "",
            _("逾期") if r["late"] else "",
        ]
        for r in data["rows"]
    ]
    access_log(request, Kind.EXPORT, {"export": "work_reports", "organization": org.code, "year": year})
    return _xlsx(
        f"{org.name}-{year}-工作报告上报情况",
        f"{org.name} {year} " + _("年度工作报告上报情况"),
        [(_("上报情况"), REPORT_STATUS_COLUMNS, rows)],
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def work_report(request, org_id, year):
    org = _org(request, org_id)
    if org.kind == Organization.Kind.COMMITTEE:
        return redirect(f"{reverse('work_reports', args=[org.pk])}?year={year}")
    if request.method == "POST":
        return _work_report_post(request, org, year)
    data = reports.work_report_view(actor=request.user, org=org, year=year)
    report = data["report"]
    form = WorkReportForm(initial={"summary": data["draft"], "lock_version": report.lock_version if report else 0})
    return render(
        request,
        "dashboards/work_report.html",
        {**data, "org": org, "year": year, "form": form, "return_form": ReasonForm()},
    )


def _work_report_post(request, org, year):
    action = request.POST.get("action", "save")
    if action == "return":
        report = WorkReport.objects.filter(organization=org, year=year).first()
        if report is None or not reports.report_permissions(request.user, org)[1]:
            raise PermissionDenied(_("只有上级党组织可以退回工作报告"))
        try:
            services.work_report_return(actor=request.user, report=report, reason=request.POST.get("reason", ""))
            messages.success(request, _("已退回"))
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect(request.path)
    if not reports.report_permissions(request.user, org)[0]:
        raise PermissionDenied(_("您无权填写“%(org)s”的工作报告") % {"org": org})
    form = WorkReportForm(request.POST)
    if not form.is_valid():
        data = reports.work_report_view(actor=request.user, org=org, year=year)
        return render(
            request,
            "dashboards/work_report.html",
            {**data, "org": org, "year": year, "form": form, "return_form": ReasonForm()},
            status=400,
        )
    try:
        services.work_report_save(
            actor=request.user,
            organization=org,
            year=year,
            summary=form.cleaned_data["summary"],
            lock_version=form.cleaned_data["lock_version"],
            submit=action == "submit",
        )
        messages.success(request, _("工作报告已上报") if action == "submit" else _("已保存"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(request.path)


@login_required
@require_safe
def work_report_export(request, org_id, year):
    org = _org(request, org_id)
    data = reports.work_report_view(actor=request.user, org=org, year=year)
    figures, report = data["figures"], data["report"]
    facts = [
        [_("党组织"), figures["organization"]],
        [_("年度"), str(year)],
        [_("状态"), report.get_status_display() if report else _("未填写")],
        [_("应参与记分党员"), str(figures["expected"])],
        [_("参与记分党员"), str(figures["scored"])],
        [_("年度平均分"), figures["mean"]],
        [_("超出比例上限的支部数"), str(figures["share_broken"])],
        [_("异议（件）"), str(figures["objections"])],
        [_("群众评议表（份）"), str(figures["mass_forms"])],
    ]
    steps = [
        [s["label"], s["done"], s["expected"], _("逾期") if s["overdue"] else "", s["due"]] for s in figures["steps"]
    ]
    summary = report.summary if report else data["draft"]
    access_log(request, Kind.EXPORT, {"export": "work_report", "organization": org.code, "year": year})
    return _xlsx(
        f"{org.name}-{year}-工作报告",
        f"{org.name} {year} " + _("年度工作报告"),
        [
            (_("工作总结"), (Column(_("工作总结"), WRAP, 100),), [[line] for line in summary.splitlines() or [""]]),
            (_("基本情况"), (Column(_("项目"), TEXT, 24), Column(_("内容"), TEXT, 30)), facts),
            (
                _("各环节完成情况"),
                (
                    Column(_("环节"), TEXT, 24),
                    Column(_("已完成"), INT, 10),
                    Column(_("应完成"), INT, 10),
                    Column(_("逾期"), TEXT, 8),
                    Column(_("截止日期"), TEXT, 12),
                ),
                steps,
            ),
            (
                _("总分分布"),
                (Column(_("分数段"), TEXT, 14), Column(_("人数"), INT, 10)),
                [[d["label"], d["n"]] for d in figures["distribution"]],
            ),
            (
                _("积分结果"),
                (Column(_("结果"), TEXT, 20), Column(_("人数"), INT, 10)),
                [[o["label"], o["n"]] for o in figures["outcomes"]],
            ),
        ],
    )
