"""Thin views over the scoring selectors and services."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from members import permissions as perms
from members import selectors as member_selectors
from members.models import Member, Organization
from partyscore.core.evidence_files import evidence_response
from partyscore.core.exceptions import ApplicationError
from partyscore.core.filters import list_filters
from partyscore.core.shortcuts import posted_object_or_404

from . import selectors, services
from .forms import (
    AttendanceRuleForm,
    CycleOpenForm,
    EntryBulkForm,
    EntryForm,
    LedgerFilterForm,
    OutcomeRuleForm,
    PresetForm,
    ReasonForm,
    RuleItemForm,
    SchemeForm,
    SemestersForm,
)
from .models import AttendanceRule, Cycle, LedgerEntry, OutcomeRule, Period, PeriodKind, RuleItem, Scheme
from .policy import explain_total

ENTRIES_PER_PAGE = 50


def _year(request):
    try:
        return int(request.GET.get("year") or "")
    except ValueError:
        cycle = selectors.current_cycle()
        return cycle.year if cycle else timezone.localdate().year


def _committee():
    return Organization.objects.get(parent__isnull=True)


# ── ledger ───────────────────────────────────────────────────────────────────────────────────


def _ledger_periods(organization, year):
    """The period filter offers a branch the periods of its own policy (semesters, or quarters and
    months); a college or the committee, those of every policy below it, months left out."""
    periods = Period.objects.filter(cycle__year=year).order_by("kind", "index")
    if organization.is_branch:
        kinds = {s.period_kind for s in selectors.schemes_in_force(branch=organization, year=year).values()}
        return periods.filter(kind__in=kinds) if kinds else periods.none()
    return periods.exclude(kind="month")


@login_required
@require_safe
@list_filters(LedgerFilterForm)
def ledger(request, org_id, filters):
    organization = member_selectors.branch_get(actor=request.user, branch_id=org_id, perm=perms.LEDGER_VIEW)
    year = filters["year"] or _year(request)
    entries = selectors.ledger_entries(
        actor=request.user,
        organization=organization,
        year=year,
        member_id=filters["member"],
        kind=filters["kind"],
        source=filters["source"],
        period_id=filters["period"],
    )
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "organization": organization,
        "year": year,
        "page": page,
        "lines": selectors.ledger_rows(page.object_list),
        "can_record": organization.is_branch and perms.has_org_perm(request.user, perms.ENTRY_RECORD, organization),
        "kinds": RuleItem.Kind.choices,
        "sources": LedgerEntry.Source.choices,
        "periods": _ledger_periods(organization, year),
        "members": organization.members.order_by("number").values_list("pk", "number", "name")
        if organization.is_branch
        else None,
        "filters": filters,
    }
    return render(request, "scoring/ledger.html", context)


def _entry_setting(request, org_id):
    """What both entry forms offer in a branch this year: (branch, cycle, schemes in force, periods
    open to entries, members who may be scored); cycle is None before the committee opens a year."""
    branch = member_selectors.branch_get(actor=request.user, branch_id=org_id, perm=perms.ENTRY_RECORD)
    if not branch.is_branch:
        raise PermissionDenied(_("只能在党支部记分"))
    cycle = selectors.current_cycle()
    if cycle is None:
        return branch, None, {}, Period.objects.none(), branch.members.none()
    schemes = selectors.schemes_in_force(branch=branch, year=cycle.year)
    kinds = {s.period_kind for s in schemes.values()}
    periods = Period.objects.filter(cycle=cycle, kind__in=kinds).filter(
        Q(locked_at__isnull=True) | Q(reopenings__branch=branch, reopenings__until__gte=timezone.localdate())
    )
    members = branch.members.filter(left_on__isnull=True, exempt=False).order_by("number")
    return branch, cycle, schemes, periods, members


def _current_period(cycle, schemes):
    current = [selectors.current_period(year=cycle.year, kind=k) for k in {s.period_kind for s in schemes.values()}]
    return current[0].pk if current and current[0] is not None else None


def _no_cycle(request, branch):
    messages.error(request, _("尚未开启计分年度，请联系组织部"))
    return redirect("ledger", org_id=branch.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def entry_record(request, org_id):
    branch, cycle, schemes, periods, members = _entry_setting(request, org_id)
    if cycle is None:
        return _no_cycle(request, branch)
    initial = {
        "occurred_on": timezone.localdate(),
        "member": request.GET.get("member"),
        "period": _current_period(cycle, schemes),
    }
    chosen = members.filter(pk=request.GET["member"]).first() if request.GET.get("member", "").isdigit() else None
    offered = {chosen.category: schemes[chosen.category]} if chosen and chosen.category in schemes else schemes
    if chosen is not None and chosen.category in schemes:
        periods = periods.filter(kind=schemes[chosen.category].period_kind)
    form = EntryForm(
        request.POST or None,
        request.FILES or None,
        members=members,
        schemes=offered if request.method != "POST" else schemes,
        periods=periods,
        initial=initial,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = services.entry_record(
                    actor=request.user,
                    member=data["member"],
                    item=data["item"],
                    period=data["period"],
                    points=data["points"],
                    reason=data["reason"],
                    occurred_on=data["occurred_on"],
                    evidence=data["evidence"],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request, _("已为%(member)s记分：%(item)s") % {"member": entry.member.name, "item": entry.item.title}
                )
                return redirect(f"{request.path}?member={entry.member_id}")
        status = 400
    context = {"branch": branch, "form": form, "schemes": schemes, "year": cycle.year}
    return render(request, "scoring/entry_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def entry_bulk(request, org_id):
    """批量记分: one item, period, points and reason for every ticked member, all or nothing."""
    branch, cycle, schemes, periods, members = _entry_setting(request, org_id)
    if cycle is None:
        return _no_cycle(request, branch)
    form = EntryBulkForm(
        request.POST or None,
        members=members,
        schemes=schemes,
        periods=periods,
        initial={"occurred_on": timezone.localdate(), "period": _current_period(cycle, schemes)},
    )
    refused = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entries = services.entries_record_bulk(
                actor=request.user,
                lines=[
                    services.EntryLine(
                        member, data["item"], data["period"], data["points"], data["reason"], data["occurred_on"]
                    )
                    for member in data["members"]
                ],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
            refused = {line.member.pk: line.message for line in getattr(error, "errors", [])}
        else:
            messages.success(
                request, _("已为 %(n)s 名党员记分：%(item)s") % {"n": len(entries), "item": data["item"].title}
            )
            return redirect("ledger", org_id=branch.pk)
    ticked = form.ticked()
    offered = list(form.fields["members"].queryset)
    # Party groups (党小组) by a token each: a group's name may hold spaces, data-groups may not.
    party_groups = {
        name: f"group-{i}" for i, name in enumerate(sorted({m.party_group for m in offered if m.party_group}))
    }
    rows = [
        {
            "member": m,
            "ticked": str(m.pk) in ticked,
            "error": refused.get(m.pk, ""),
            "groups": " ".join(
                [
                    m.category,
                    *(["cadre"] if m.is_cadre else []),
                    *([party_groups[m.party_group]] if m.party_group else []),
                ]
            ),
        }
        for m in offered
    ]
    context = {
        "branch": branch,
        "form": form,
        "rows": rows,
        "year": cycle.year,
        "categories": [(c, label) for c, label in Member.Category.choices if c in schemes],
        "party_groups": [(token, name) for name, token in party_groups.items()],
    }
    return render(request, "scoring/entry_bulk.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def entry_reverse(request, entry_id):
    entry = selectors.entry_get(actor=request.user, entry_id=entry_id)
    if not perms.has_org_perm(request.user, perms.ENTRY_RECORD, entry.member.branch):
        raise PermissionDenied(_("您不能更正本支部以外的记录"))
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.entry_reverse(actor=request.user, entry=entry, reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已冲销该记录"))
            return redirect("ledger", org_id=entry.member.branch_id)
    return render(
        request, "scoring/entry_reverse.html", {"entry": entry, "form": form}, status=400 if form.errors else 200
    )


@login_required
@require_safe
def evidence_entry(request, evidence_id):
    """An entry's file (佐证材料): opened by whoever sees the member's card."""
    evidence = selectors.entry_evidence_get(actor=request.user, evidence_id=evidence_id)
    return evidence_response(evidence.file, name=evidence.name, download="download" in request.GET)


@login_required
@require_safe
def points_card(request, member_id):
    member = member_selectors.member_get(actor=request.user, member_id=member_id)
    year = _year(request)
    total, entries, outcomes = selectors.points_card(actor=request.user, member=member, year=year)
    periods = (
        list(Period.objects.filter(cycle__year=year, kind=total.scheme.period_kind)) if total and total.scheme else []
    )
    return render(
        request,
        "scoring/points_card.html",
        {
            "member": member,
            "year": year,
            "total": total,
            "entries": entries,
            "outcomes": outcomes,
            "periods": periods,
            "print": "print" in request.GET,
            "sections": [
                (template, context(member=member, year=year)) for template, context in selectors.POINTS_CARD_SECTIONS
            ],
            "explanation": explain_total(total.scheme if total else None, total, {p.index: p.label for p in periods}),
        },
    )


@login_required
@require_safe
def board(request, org_id):
    branch = get_object_or_404(Organization, pk=org_id, kind=Organization.Kind.BRANCH)
    year = _year(request)
    rows, checks = selectors.branch_board(actor=request.user, branch=branch, year=year)
    return render(
        request,
        "scoring/board.html",
        {
            "branch": branch,
            "year": year,
            "rows": rows,
            "checks": checks,
            "can_manage": perms.has_org_perm(request.user, perms.ROSTER_MANAGE, branch),
            "show_outcomes": perms.has_org_perm(request.user, perms.LEDGER_VIEW, branch),
            "print": "print" in request.GET,
        },
    )


@login_required
@require_POST
def board_visibility(request, org_id):
    branch = get_object_or_404(Organization, pk=org_id, kind=Organization.Kind.BRANCH)
    services.board_visibility_set(actor=request.user, branch=branch, visible=request.POST.get("visible") == "1")
    messages.success(request, _("已更新积分榜公开设置"))
    return redirect("board", org_id=branch.pk)


# ── schemes ──────────────────────────────────────────────────────────────────────────────────


@login_required
@require_safe
def scheme_list(request):
    schemes = selectors.visible_schemes(actor=request.user).order_by("-year", "owner__path", "-version")
    return render(
        request,
        "scoring/scheme_list.html",
        {
            "schemes": schemes,
            "preset_form": PresetForm(initial={"year": _year(request)}),
            "can_publish": perms.has_org_perm(request.user, perms.SCHEME_APPROVE, _committee()),
        },
    )


@login_required
@require_POST
def scheme_preset_load(request):
    form = PresetForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择参考标准和年度"))
        return redirect("scheme_list")
    scheme = services.scheme_preset_load(
        actor=request.user, preset=form.cleaned_data["preset"], year=form.cleaned_data["year"], owner=_committee()
    )
    messages.success(request, _("已发布：%(name)s") % {"name": scheme})
    return redirect("scheme_detail", scheme_id=scheme.pk)


@login_required
@require_safe
def scheme_detail(request, scheme_id):
    scheme = selectors.scheme_get(actor=request.user, scheme_id=scheme_id)
    items, rules = selectors.scheme_detail(scheme=scheme)
    attendance_rules = scheme.attendance_rules.select_related("item")
    derive_targets = [
        o
        for o in perms.orgs_with_perm(request.user, perms.SCHEME_MANAGE)
        if o.path.startswith(scheme.owner.path) and o.pk != scheme.owner_id
    ]
    parent = scheme.owner.parent
    return render(
        request,
        "scoring/scheme_detail.html",
        {
            "scheme": scheme,
            "items": items,
            "rules": rules,
            "attendance_rules": attendance_rules,
            "derive_targets": derive_targets,
            "can_edit": not scheme.is_frozen and perms.has_org_perm(request.user, perms.SCHEME_MANAGE, scheme.owner),
            "can_manage": perms.has_org_perm(request.user, perms.SCHEME_MANAGE, scheme.owner),
            "can_decide": parent is not None and perms.has_org_perm(request.user, perms.SCHEME_APPROVE, parent),
            "reason_form": ReasonForm(),
        },
    )


SCHEME_ACTIONS = {
    "submit": lambda actor, scheme, post: services.scheme_submit(actor=actor, scheme=scheme),
    "approve": lambda actor, scheme, post: services.scheme_approve(actor=actor, scheme=scheme),
    "return": lambda actor, scheme, post: services.scheme_return(
        actor=actor, scheme=scheme, reason=post.get("reason", "")
    ),
    "new_version": lambda actor, scheme, post: services.scheme_new_version(actor=actor, scheme=scheme),
    "derive": lambda actor, scheme, post: services.scheme_derive(
        actor=actor, source=scheme, owner=posted_object_or_404(Organization, post.get("owner"))
    ),
}


@login_required
@require_POST
def scheme_transition(request, scheme_id):
    """One form target for the scheme's moves; each calls its own service."""
    scheme = selectors.scheme_get(actor=request.user, scheme_id=scheme_id)
    action = SCHEME_ACTIONS.get(request.POST.get("action"))
    if action is None:
        messages.error(request, _("未知操作"))
        return redirect("scheme_detail", scheme_id=scheme.pk)
    try:
        result = action(request.user, scheme, request.POST)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("scheme_detail", scheme_id=scheme.pk)
    messages.success(
        request, _("已完成：%(scheme)s（%(status)s）") % {"scheme": result, "status": result.get_status_display()}
    )
    return redirect("scheme_detail", scheme_id=result.pk)


def _editable_scheme(request, scheme_id):
    scheme = selectors.scheme_get(actor=request.user, scheme_id=scheme_id)
    if not perms.has_org_perm(request.user, perms.SCHEME_MANAGE, scheme.owner):
        raise PermissionDenied(_("您无权修改该评分标准"))
    return scheme


def _save_form(request, scheme, form, save, template, title):
    """Shared by the scheme, item and rule editors: validate, call the service, show errors."""
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已保存"))
            return redirect("scheme_detail", scheme_id=scheme.pk)
    return render(
        request, template, {"scheme": scheme, "form": form, "title": title}, status=400 if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def scheme_edit(request, scheme_id):
    scheme = _editable_scheme(request, scheme_id)
    form = SchemeForm(request.POST or None, instance=Scheme.objects.get(pk=scheme.pk))
    return _save_form(
        request,
        scheme,
        form,
        lambda data: services.scheme_update(actor=request.user, scheme=scheme, data=data),
        "scoring/scheme_form.html",
        _("修改评分标准"),
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def item_edit(request, scheme_id, item_id=None):
    scheme = _editable_scheme(request, scheme_id)
    item = get_object_or_404(RuleItem, pk=item_id, scheme=scheme) if item_id is not None else None
    form = RuleItemForm(
        request.POST or None, instance=RuleItem(scheme=scheme) if item is None else RuleItem.objects.get(pk=item.pk)
    )
    return _save_form(
        request,
        scheme,
        form,
        lambda data: services.item_save(actor=request.user, scheme=scheme, data=data, item=item),
        "scoring/scheme_form.html",
        _("评分项目"),
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def rule_edit(request, scheme_id, rule_id=None):
    scheme = _editable_scheme(request, scheme_id)
    rule = get_object_or_404(OutcomeRule, pk=rule_id, scheme=scheme) if rule_id is not None else None
    form = OutcomeRuleForm(
        request.POST or None,
        instance=OutcomeRule(scheme=scheme) if rule is None else OutcomeRule.objects.get(pk=rule.pk),
    )
    return _save_form(
        request,
        scheme,
        form,
        lambda data: services.outcome_rule_save(actor=request.user, scheme=scheme, data=data, rule=rule),
        "scoring/scheme_form.html",
        _("结果规则"),
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def attendance_rule_edit(request, scheme_id, rule_id=None):
    scheme = _editable_scheme(request, scheme_id)
    rule = get_object_or_404(AttendanceRule, pk=rule_id, scheme=scheme) if rule_id is not None else None
    form = AttendanceRuleForm(
        request.POST or None,
        instance=AttendanceRule(scheme=scheme) if rule is None else AttendanceRule.objects.get(pk=rule.pk),
    )
    return _save_form(
        request,
        scheme,
        form,
        lambda data: services.attendance_rule_save(actor=request.user, scheme=scheme, data=data, rule=rule),
        "scoring/scheme_form.html",
        _("会议考勤记分规则"),
    )


@login_required
@require_POST
def scheme_part_remove(request, scheme_id, part, part_id):
    scheme = _editable_scheme(request, scheme_id)
    if part not in ("item", "rule", "attendance"):
        raise Http404
    try:
        if part == "item":
            services.item_remove(actor=request.user, item=get_object_or_404(RuleItem, pk=part_id, scheme=scheme))
        elif part == "attendance":
            services.attendance_rule_remove(
                actor=request.user, rule=get_object_or_404(AttendanceRule, pk=part_id, scheme=scheme)
            )
        else:
            services.outcome_rule_remove(
                actor=request.user, rule=get_object_or_404(OutcomeRule, pk=part_id, scheme=scheme)
            )
        messages.success(request, _("已删除"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("scheme_detail", scheme_id=scheme.pk)


# ── cycles ───────────────────────────────────────────────────────────────────────────────────


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def cycle_list(request):
    committee = _committee()
    if not perms.has_org_perm(request.user, perms.CYCLE_MANAGE, committee):
        raise PermissionDenied(_("只有组织部可以管理计分年度"))
    form = CycleOpenForm(request.POST or None, initial={"year": timezone.localdate().year})
    if request.method == "POST" and form.is_valid():
        try:
            services.cycle_open(
                actor=request.user,
                year=form.cleaned_data["year"],
                committee=committee,
                deadline_sets=form.cleaned_data["deadline_sets"],
                second_semester_starts=form.cleaned_data["second_semester_starts"],
            )
        except ApplicationError as error:
            form.add_error("year", error.message)
        else:
            messages.success(request, _("已开启%(year)s年度") % {"year": form.cleaned_data["year"]})
            return redirect("cycle_list")
    return _cycle_page(request, form, status=400 if form.errors else 200)


def _cycle_page(request, form, *, semesters_form=None, semesters_cycle=None, status=200):
    cycles = list(Cycle.objects.prefetch_related("periods", "deadlines"))
    for cycle in cycles:
        second = next((p for p in cycle.periods.all() if p.kind == PeriodKind.SEMESTER and p.index == 2), None)
        cycle.semesters_form = (
            semesters_form
            if cycle == semesters_cycle
            else SemestersForm(
                initial={"second_semester_starts": second.starts_on if second else None}, prefix=f"cycle{cycle.pk}"
            )
        )
    return render(
        request, "scoring/cycle_list.html", {"cycles": cycles, "form": form, "reason_form": ReasonForm()}, status=status
    )


@login_required
@require_POST
def cycle_semesters(request, cycle_id):
    """The committee moves the boundary between the year's semesters."""
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    committee = _committee()
    if not perms.has_org_perm(request.user, perms.CYCLE_MANAGE, committee):
        raise PermissionDenied(_("只有组织部可以管理计分年度"))
    form = SemestersForm(request.POST, prefix=f"cycle{cycle.pk}")
    if form.is_valid():
        try:
            services.semesters_set(
                actor=request.user,
                cycle=cycle,
                committee=committee,
                second_semester_starts=form.cleaned_data["second_semester_starts"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            form.add_error("second_semester_starts", error.message)
        else:
            messages.success(request, _("已调整%(year)s年度的学期起止日期") % {"year": cycle.year})
            return redirect("cycle_list")
    opening = CycleOpenForm(initial={"year": timezone.localdate().year})
    return _cycle_page(request, opening, semesters_form=form, semesters_cycle=cycle, status=400)


@login_required
@require_POST
def period_lock(request, period_id):
    period = get_object_or_404(Period, pk=period_id)
    committee = _committee()
    try:
        if request.POST.get("action") == "reopen":
            services.period_reopen(
                actor=request.user, period=period, committee=committee, reason=request.POST.get("reason", "")
            )
        else:
            services.period_lock(actor=request.user, period=period, committee=committee)
        messages.success(request, _("已更新：%(period)s") % {"period": period})
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("cycle_list")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def deadlines(request):
    """The year's deadlines as they apply in the viewer's units; the committee and general
    branches move them for their subtree."""
    cycle = selectors.current_cycle()
    if cycle is None:
        raise Http404
    member = getattr(request.user, "member", None)
    units = perms.scope_roots(request.user, perms.LEDGER_VIEW) or ([member.branch] if member else [])
    movable = [
        u
        for u in units
        if u.kind != Organization.Kind.BRANCH
        and (
            perms.has_org_perm(request.user, perms.CYCLE_MANAGE, u)
            or perms.has_org_perm(request.user, perms.SCHEME_APPROVE, u)
        )
    ]
    if request.method == "POST":
        unit = next((u for u in movable if str(u.pk) == request.POST.get("organization")), None)
        if unit is None:
            raise PermissionDenied(_("您无权调整该组织的时间节点"))
        try:
            due_on = datetime.date.fromisoformat(request.POST.get("due_on", ""))
            services.deadline_move(
                actor=request.user,
                cycle=cycle,
                code=request.POST.get("code", ""),
                organization=unit,
                due_on=due_on,
                reason=request.POST.get("reason", ""),
            )
            messages.success(request, _("已调整时间节点"))
        except ValueError:
            messages.error(request, _("日期格式应为 2026-05-31"))
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect("deadlines")
    today = timezone.localdate()
    tables = [
        (u, [(d, (d.due_on - today).days) for d in selectors.deadlines_for(organization=u, cycle=cycle)]) for u in units
    ]
    return render(request, "scoring/deadlines.html", {"cycle": cycle, "tables": tables, "movable": movable})
