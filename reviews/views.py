"""Thin views over the review selectors and services."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from members import permissions as perms
from members import selectors as member_selectors
from members.models import Member, MemberStatusEvent, Organization
from members.services import user_email_notifications_set
from partyscore.core.channels import CHANNELS, choosable_channels
from partyscore.core.evidence_files import evidence_response
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import Notification
from partyscore.core.notifications import notification_channels_set, notifications_mark_read
from partyscore.core.shortcuts import posted_int, posted_object_or_404
from scoring import selectors as scoring_selectors
from scoring import services as scoring
from scoring.models import Cycle, LedgerEntry, MemberYearTotal, Period, RuleItem
from scoring.points import format_points
from scoring.selectors import current_cycle, member_record_visible, scheme_for_member

from . import pipeline, rollover, selectors, services
from .forms import (
    DecisionForm,
    DeclarationForm,
    DeterminationForm,
    FollowUpForm,
    FulfilmentForm,
    MassForm,
    NotificationChannelsForm,
    ObjectionAnswerForm,
    ObjectionForm,
    PledgeForm,
    PublicityForm,
    ReviewSettingsForm,
)
from .models import (
    Declaration,
    Determination,
    EvaluationGrade,
    FulfilmentReport,
    PanelScore,
    Pledge,
    Publicity,
    Rollover,
    SelfAssessment,
)


def _year():
    cycle = current_cycle()
    return cycle.year if cycle else timezone.localdate().year


def _my_member(request):
    member = getattr(request.user, "member", None)
    if member is None:
        raise PermissionDenied(_("只有党员本人可以使用此功能"))
    return member


def _done(request, call, success, fallback):
    """Run a service; show its Chinese refusal as a message; always go back to `fallback`."""
    try:
        call()
        messages.success(request, success)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(fallback)


def _branch(request, org_id, perm):
    branch = member_selectors.branch_get(actor=request.user, branch_id=org_id, perm=perm)
    if not branch.is_branch:
        raise Http404
    return branch


# ── member ───────────────────────────────────────────────────────────────────────────────────


@login_required
@require_safe
def my_reviews(request):
    member = _my_member(request)
    year = _year()
    context = {
        "member": member,
        "year": year,
        "due": selectors.member_due(member=member, year=year),
        "my_steps": selectors.member_steps(member=member, year=year),
        **selectors.my_pipeline(member=member, year=year),
    }
    return render(request, "reviews/my_reviews.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_pledges(request):
    """The year's pledges: drafts can be edited (?edit=<id>) and deleted; the add form goes once handed in."""
    member = _my_member(request)
    year = _year()
    editable = Pledge.objects.filter(member=member, year=year, status__in=("draft", "returned"))
    editing = (
        posted_object_or_404(Pledge, request.POST.get("pledge") or request.GET.get("edit"), member=member)
        if (request.POST.get("pledge") or request.GET.get("edit"))
        else None
    )
    if request.method != "POST" and editing is not None and editing.status not in ("draft", "returned"):
        editing = None  # a handed-in pledge is shown, not edited (a forged post is refused by the service)
    initial = {"kind": editing.kind, "content": editing.content} if editing else None
    form = PledgeForm(request.POST or None, initial=initial)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "submit":
            return _done(
                request,
                lambda: services.pledges_submit(actor=request.user, member=member, year=year),
                _("承诺已提交，待支部审核"),
                "my_pledges",
            )
        if action == "delete":
            target = posted_object_or_404(Pledge, request.POST.get("pledge") or 0, member=member)
            return _done(
                request, lambda: services.pledge_delete(actor=request.user, pledge=target), _("已删除"), "my_pledges"
            )
        if form.is_valid():
            try:
                services.pledge_save(
                    actor=request.user,
                    member=member,
                    year=year,
                    kind=form.cleaned_data["kind"],
                    content=form.cleaned_data["content"],
                    pledge=editing,
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("已保存"))
                return redirect("my_pledges")
    pledges = Pledge.objects.filter(member=member, year=year)
    return render(
        request,
        "reviews/my_pledges.html",
        {
            "form": form,
            "pledges": pledges,
            "year": year,
            "member": member,
            "editing": editing,
            "can_add": services.pledges_open(member=member, year=year),
            "has_drafts": editable.exists(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_safe
def my_pledges_print(request):
    """承诺书: the year's pledges on paper, with the member's signature line, to hand in or keep."""
    member = _my_member(request)
    year = _year()
    return render(
        request,
        "reviews/pledges_print.html",
        {
            "member": member,
            "year": year,
            "print": True,
            "pledges": Pledge.objects.filter(member=member, year=year).exclude(status="draft"),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def self_assessment(request, period_id):
    """Phone-first: every item of the branch's rules, points and a note each, a running self-score."""
    member = _my_member(request)
    period = get_object_or_404(Period, pk=period_id)
    scheme = scheme_for_member(member=member, year=period.cycle.year)
    if not pipeline.runs_in(pipeline.SELF_ASSESSMENT, scheme, period):
        raise Http404
    assessment = SelfAssessment.objects.filter(member=member, period=period).first()
    claims = {c.item_id: c for c in assessment.claims.all()} if assessment else {}
    items = list(scheme.items.exclude(kind=RuleItem.Kind.VETO))
    posted = None  # what the member typed, shown again when the save is refused
    status = 200
    if request.method == "POST":
        posted = request.POST
        entered = []
        try:
            for item in items:
                raw = (request.POST.get(f"points_{item.pk}") or "").strip()
                if raw:
                    entered.append(
                        (item, raw, request.POST.get(f"note_{item.pk}", ""), request.FILES.get(f"file_{item.pk}"))
                    )
            assessment = services.self_assessment_save(
                actor=request.user,
                member=member,
                period=period,
                claims=entered,
                note=request.POST.get("note", ""),
                submit=request.POST.get("action") == "submit",
            )
        except (ApplicationError, ValueError) as error:
            messages.error(request, getattr(error, "message", _("分值须为数字")))
            status = 400
        else:
            messages.success(request, _("已提交") if assessment.status == "submitted" else _("草稿已保存"))
            return redirect("self_assessment", period_id=period.pk)
    rows = []
    for item in items:
        claim = claims.get(item.pk)
        if posted is not None:
            value, note = posted.get(f"points_{item.pk}", ""), posted.get(f"note_{item.pk}", "")
        else:
            value, note = (format_points(claim.points), claim.note) if claim else ("", "")
        rows.append(
            {
                "item": item,
                "claim": claim,
                "value": value,
                "note": note,
                "limit": format_points(services.scoring.period_limit(item)),
            }
        )
    due = services.self_assessment_deadline(period, member.branch)
    return render(
        request,
        "reviews/self_assessment.html",
        {
            "period": period,
            "assessment": assessment,
            "rows": rows,
            "scheme": scheme,
            "due": due,
            "note": posted.get("note", "") if posted is not None else (assessment.note if assessment else ""),
            "closed": services.self_assessment_closed(assessment, due),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def declaration_new(request):
    member = _my_member(request)
    year = _year()
    scheme = scheme_for_member(member=member, year=year)
    if scheme is None:
        raise Http404
    form = DeclarationForm(
        request.POST or None,
        request.FILES or None,
        items=scheme.items.filter(member_may_declare=True),
        periods=Period.objects.filter(cycle__year=year, kind=scheme.period_kind, locked_at__isnull=True),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.declaration_submit(
                actor=request.user,
                member=member,
                item=data["item"],
                period=data["period"],
                points=data["points"],
                reason=data["reason"],
                evidence=data["evidence"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已提交申报，待支部审核"))
            return redirect("my_reviews")
    return render(
        request,
        "reviews/form.html",
        {"form": form, "title": _("本人申报加分"), "multipart": True},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def fulfilment_new(request):
    member = _my_member(request)
    form = FulfilmentForm(
        request.POST or None,
        request.FILES or None,
        periods=Period.objects.filter(cycle__year=_year(), kind="month", starts_on__lte=timezone.localdate()),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.fulfilment_submit(
                actor=request.user,
                member=member,
                period=form.cleaned_data["period"],
                content=form.cleaned_data["content"],
                evidence=form.cleaned_data["evidence"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已提交践诺情况"))
            return redirect("my_reviews")
    return render(
        request,
        "reviews/form.html",
        {"form": form, "title": _("承诺践诺情况报告"), "multipart": True},
        status=400 if form.errors else 200,
    )


# ── objections ───────────────────────────────────────────────────────────────────────────────

# What an objection may be about: the member's own entry or declaration, their branch's publicity or
# determination (ids of anyone else's are not found, so a forged id shows nothing of them).
OBJECTION_TARGETS = {
    "entry": (LedgerEntry, "member_id"),
    "declaration": (Declaration, "member_id"),
    "publicity": (Publicity, "branch_id"),
    "determination": (Determination, "branch_id"),
}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def objection_new(request):
    # The form posts back to its own URL; the target may come in the query string or the form.
    params = request.GET if request.GET.get("member") else request.POST
    member = posted_object_or_404(Member, params.get("member") or 0)
    if not (member.user_id == request.user.pk or perms.has_org_perm(request.user, perms.MASS_EVALUATE, member.branch)):
        raise PermissionDenied(_("只有党员本人或本支部群众代表可以提出异议"))
    owners = {"member_id": member.pk, "branch_id": member.branch_id}
    targets = {
        name: posted_object_or_404(model, params[name], **{owner: owners[owner]})
        for name, (model, owner) in OBJECTION_TARGETS.items()
        if params.get(name)
    }
    services.objection_target_check(
        actor=request.user, member=member, entry=targets.get("entry"), declaration=targets.get("declaration")
    )
    form = ObjectionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        attached = form.cleaned_data["evidence"]
        try:
            objection = services.objection_raise(
                actor=request.user,
                member=member,
                reason=form.cleaned_data["reason"],
                attachments=[attached] if attached else [],
                **targets,
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("异议已提交，支部将在 %(due)s 前答复") % {"due": objection.due_on})
            return redirect("objection_detail", objection_id=objection.pk)
    return render(
        request,
        "reviews/form.html",
        {"form": form, "title": _("提出异议"), "subject": member, "targets": targets, "multipart": True},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def objection_detail(request, objection_id):
    objection = selectors.objection_get(actor=request.user, objection_id=objection_id)
    can_answer = perms.has_org_perm(request.user, perms.OBJECTIONS_HANDLE, objection.branch)
    can_resolve = perms.has_org_perm(request.user, perms.OVERSEE, objection.branch)
    form = ObjectionAnswerForm(request.POST or None, request.FILES or None)
    refused = False
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "escalate":
            return _done(
                request,
                lambda: services.objection_escalate(
                    actor=request.user, objection=objection, reason=request.POST.get("reason", "")
                ),
                _("已提请组织部核实"),
                request.path,
            )
        if action in ("answer", "resolve") and form.is_valid():
            data = form.cleaned_data
            service = services.objection_answer if action == "answer" else services.objection_resolve
            text = {"answer": data["text"]} if action == "answer" else {"decision": data["text"]}
            if (action == "answer" and not can_answer) or (action == "resolve" and not can_resolve):
                raise PermissionDenied(_("您无权处理该异议"))
            evidence = [data["evidence"]] if data["evidence"] else []
            try:
                service(
                    actor=request.user,
                    objection=objection,
                    uphold=data["uphold"],
                    corrected_points=data["corrected_points"],
                    evidence=evidence,
                    **text,
                )
            except ApplicationError as error:
                messages.error(request, error.message)  # shown over what was typed, not after a redirect
                refused = True
            else:
                messages.success(request, _("已记录"))
                return redirect(request.path)
    return render(
        request,
        "reviews/objection_detail.html",
        {
            "objection": objection,
            "form": form,
            "can_answer": can_answer and objection.status == "open",
            "can_resolve": can_resolve and objection.status == "escalated",
            "can_escalate": objection.raised_by_id == request.user.pk and objection.status == "rejected",
            # The disputed entry's or declaration's files: for those who see the member's record.
            "sees_record": member_record_visible(actor=request.user, member=objection.member),
        },
        status=400 if form.errors or refused else 200,
    )


@login_required
@require_safe
def publicity_detail(request, publicity_id):
    publicity = selectors.publicity_get(actor=request.user, publicity_id=publicity_id)
    member = getattr(request.user, "member", None)
    return render(
        request,
        "reviews/publicity_detail.html",
        {
            "publicity": publicity,
            "content": selectors.publicity_content(actor=request.user, publicity=publicity),
            "open": publicity.is_open(),
            "my_member": member,
            "can_object": publicity.is_open() and member is not None and member.branch_id == publicity.branch_id,
            # A mass representative of the branch may object to anyone's result; a member only to their own.
            "can_object_for_all": publicity.is_open()
            and perms.has_org_perm(request.user, perms.MASS_EVALUATE, publicity.branch),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def notifications(request):
    user = request.user
    available = choosable_channels()
    initial = {
        "channels": user.notify_channels,
        "wecom_userid": user.wecom_userid,
        "dingtalk_userid": user.dingtalk_userid,
    }
    form = NotificationChannelsForm(initial=initial, available=available) if available else None
    if request.method == "POST":
        if "channels_form" in request.POST:
            if not available:  # the deployment switched every channel off meanwhile
                return redirect("notifications")
            form = NotificationChannelsForm(request.POST, available=available)
            if form.is_valid():
                try:
                    notification_channels_set(
                        user=user,
                        channels=form.cleaned_data["channels"],
                        wecom_userid=form.cleaned_data.get("wecom_userid"),
                        dingtalk_userid=form.cleaned_data.get("dingtalk_userid"),
                    )
                except ApplicationError as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(request, _("通知渠道已保存"))
                    return redirect("notifications")
        elif "email" in request.POST:
            user_email_notifications_set(user=user, enabled=request.POST["email"] == "1")
            return redirect("notifications")
        else:
            notifications_mark_read(actor=user)
            return redirect("notifications")
    items = Notification.objects.filter(user=user)[:100]
    phone = getattr(getattr(user, "member", None), "phone", "") if any(c.name == "sms" for c in available) else ""
    return render(
        request,
        "reviews/notifications.html",
        {
            "items": items,
            "channels_form": form,
            "phone": phone,
            "sees_failures": selectors.sees_delivery_failures(actor=user),
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
@require_safe
def delivery_failures(request):
    """The organization department's list of notices that did not reach a channel."""
    page = Paginator(selectors.delivery_failures(actor=request.user), 50).get_page(request.GET.get("page"))
    labels = {name: channel.label for name, channel in CHANNELS.items()}
    for row in page:
        row.channel_label = labels.get(row.channel, row.channel)
    return render(request, "reviews/delivery_failures.html", {"page": page})


# ── evidence (佐证材料) ─────────────────────────────────────────────────────────────────────


@login_required
@require_safe
def evidence_declaration(request, declaration_id):
    declaration = selectors.declaration_evidence_get(actor=request.user, declaration_id=declaration_id)
    return evidence_response(declaration.evidence, download="download" in request.GET)


@login_required
@require_safe
def evidence_self_claim(request, claim_id):
    claim = selectors.self_claim_evidence_get(actor=request.user, claim_id=claim_id)
    return evidence_response(claim.evidence, download="download" in request.GET)


@login_required
@require_safe
def evidence_fulfilment(request, report_id):
    report = selectors.fulfilment_evidence_get(actor=request.user, report_id=report_id)
    return evidence_response(report.evidence, download="download" in request.GET)


@login_required
@require_safe
def evidence_objection(request, attachment_id):
    """An objection's file: for whoever may open the objection itself."""
    attachment = selectors.objection_attachment_get(actor=request.user, attachment_id=attachment_id)
    return evidence_response(attachment.file, name=attachment.name, download="download" in request.GET)


# ── branch ───────────────────────────────────────────────────────────────────────────────────

# The lists of the branch page that can be decided in bulk, by their name in the page's context:
# (service, message on success).
BATCHES = {
    "pledges": (services.pledges_decide_batch, gettext_lazy("已审核 %(n)s 项承诺")),
    "fulfilment": (services.fulfilment_decide_batch, gettext_lazy("已核实 %(n)s 份践诺报告")),
    "declarations": (services.declarations_verify_batch, gettext_lazy("已审核 %(n)s 项申报")),
}


def _branch_page(request, branch, batch=None, status=200):
    """The secretary's page; after a refused batch, `batch` = (list, posted ids, posted form, errors):
    the rows keep their ticks and reasons and show their own refusal."""
    year = _year()
    todo = selectors.branch_todo(actor=request.user, branch=branch, year=year)
    for name in ("objections", *BATCHES):
        todo[name] = list(todo[name])
    for objection in todo["objections"]:  # a link only where it opens
        objection.openable = selectors.may_see_objection(actor=request.user, objection=objection)
    if batch:
        list_name, ids, post, errors = batch
        for row in todo[list_name]:
            row.batch_checked = row.pk in ids
            row.batch_reason = post.get(f"reason_{row.pk}", "")
            row.batch_error = errors.get(row.pk, "")
        listed = {row.pk for row in todo[list_name]}
        for pk, message in errors.items():  # a row that left the list meanwhile is named at the top
            if pk not in listed:
                messages.error(request, message)
    return render(
        request,
        "reviews/branch.html",
        {
            "branch": branch,
            "year": year,
            **todo,
            "decision_form": DecisionForm(),
            "publicity_form": PublicityForm(
                periods=todo["publicity_periods"],
                initial={
                    "starts_on": timezone.localdate(),
                    "days": services.review_settings(todo["scheme"]).publicity_days,
                },
            ),
            "can_review": perms.has_org_perm(request.user, perms.MEMBERS_REVIEW, branch),
            "can_run": perms.has_org_perm(request.user, perms.BRANCH_RUN, branch),
            "can_see_mass_results": selectors.may_see_mass_results(actor=request.user, branch=branch),
            "can_see_follow_ups": selectors.may_see_follow_ups(actor=request.user),
        },
        status=status,
    )


@login_required
@require_safe
def branch_reviews(request, org_id):
    return _branch_page(request, _branch(request, org_id, perms.LEDGER_VIEW))


def _posted_ids(post):
    try:
        return [int(raw) for raw in post.getlist("ids")]
    except ValueError:
        raise ApplicationError(_("所选的项目无效")) from None


@login_required
@require_POST
def branch_decide_batch(request, org_id, kind):
    """批量通过 / 批量退回 on one of the branch page's lists: the ticked rows, each with its own reason."""
    if kind not in BATCHES:
        raise Http404
    branch = _branch(request, org_id, perms.MEMBERS_REVIEW)
    service, success = BATCHES[kind]
    post, ids = request.POST, []
    try:
        ids = _posted_ids(post)
        if post.get("decision") not in ("approve", "return"):
            raise ApplicationError(_("请选择批量通过或批量退回"))
        approve = post["decision"] == "approve"
        done = service(
            actor=request.user,
            branch=branch,
            decisions=[services.Decision(pk, approve, post.get(f"reason_{pk}", "")) for pk in ids],
        )
    except ApplicationError as error:
        messages.error(request, error.message)  # each refused row's own message stands beside the row
        return _branch_page(request, branch, batch=(kind, set(ids), post, getattr(error, "errors", {})), status=400)
    messages.success(request, success % {"n": len(done)})
    return redirect("branch_reviews", org_id=branch.pk)


def _decide(request, obj, branch, call, success):
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择审核结果"))
        return redirect("branch_reviews", org_id=branch.pk)
    return _done(
        request,
        lambda: call(form.cleaned_data["approve"], form.cleaned_data["reason"]),
        success,
        reverse("branch_reviews", args=[branch.pk]),
    )


@login_required
@require_POST
def pledge_decide(request, pledge_id):
    pledge = get_object_or_404(Pledge.objects.select_related("member__branch"), pk=pledge_id)
    if not perms.has_org_perm(request.user, perms.MEMBERS_REVIEW, pledge.member.branch):
        raise PermissionDenied(_("您无权审核该承诺"))
    return _decide(
        request,
        pledge,
        pledge.member.branch,
        lambda ok, reason: services.pledge_decide(actor=request.user, pledge=pledge, approve=ok, reason=reason),
        _("已审核"),
    )


@login_required
@require_POST
def fulfilment_decide(request, report_id):
    report = get_object_or_404(FulfilmentReport.objects.select_related("member__branch"), pk=report_id)
    if not perms.has_org_perm(request.user, perms.MEMBERS_REVIEW, report.member.branch):
        raise PermissionDenied(_("您无权核实该报告"))
    return _decide(
        request,
        report,
        report.member.branch,
        lambda ok, reason: services.fulfilment_decide(actor=request.user, report=report, verify=ok, answer=reason),
        _("已核实"),
    )


@login_required
@require_POST
def declaration_decide(request, declaration_id):
    declaration = get_object_or_404(Declaration.objects.select_related("member__branch"), pk=declaration_id)
    if not perms.has_org_perm(request.user, perms.MEMBERS_REVIEW, declaration.member.branch):
        raise PermissionDenied(_("您无权审核该申报"))
    return _decide(
        request,
        declaration,
        declaration.member.branch,
        lambda ok, reason: services.declaration_verify(
            actor=request.user, declaration=declaration, approve=ok, answer=reason
        ),
        _("已审核"),
    )


def _until(post):
    """The last day of a reopening: the form's "days" from today (a week if left empty)."""
    return timezone.localdate() + datetime.timedelta(days=posted_int(post.get("days"), 7))


@login_required
@require_POST
def branch_action(request, org_id, action):
    """The branch page's small forms: reopen a self-assessment, record a 述职, open a publicity."""
    branch = _branch(request, org_id, perms.LEDGER_VIEW)
    back = reverse("branch_reviews", args=[branch.pk])
    post = request.POST
    if action == "reopen":
        member = posted_object_or_404(Member, post.get("member") or 0, branch=branch)
        period = posted_object_or_404(Period, post.get("period") or 0)
        return _done(
            request,
            lambda: services.self_assessment_reopen(
                actor=request.user, member=member, period=period, until=_until(post), reason=post.get("reason", "")
            ),
            _("已开放补交"),
            back,
        )
    if action == "period-reopen":
        period = posted_object_or_404(Period, post.get("period") or 0)
        return _done(
            request,
            lambda: scoring.period_reopen_for_branch(
                actor=request.user, period=period, branch=branch, until=_until(post), reason=post.get("reason", "")
            ),
            _("已为本支部重新开放该周期"),
            back,
        )
    if action == "annual-report":
        member = posted_object_or_404(Member, post.get("member") or 0, branch=branch)
        return _done(
            request,
            lambda: services.annual_report_record(
                actor=request.user,
                member=member,
                year=_year(),
                given_on=timezone.localdate(),
                summary=post.get("summary", ""),
            ),
            _("已记录述职"),
            back,
        )
    if action == "publicity":
        form = PublicityForm(post, periods=Period.objects.filter(cycle__year=_year()))
        if not form.is_valid():
            messages.error(request, _("公示信息不完整：%(errors)s") % {"errors": form.errors.as_text()})
            return redirect(back)
        data = form.cleaned_data
        start = timezone.make_aware(datetime.datetime.combine(data["starts_on"], datetime.time()))
        return _done(
            request,
            lambda: services.publicity_open(
                actor=request.user,
                branch=branch,
                year=_year(),
                kind=data["kind"],
                period=data["period"],
                audience=data["audience"],
                starts_at=start,
                ends_at=start + datetime.timedelta(days=data["days"]),
            ),
            _("已发布公示"),
            back,
        )
    raise Http404


# ── panel scoring (考绩) ─────────────────────────────────────────────────────────────────────


@login_required
@require_safe
def panel_board(request, org_id, period_id):
    branch = _branch(request, org_id, perms.LEDGER_VIEW)
    period = get_object_or_404(Period, pk=period_id)
    return render(
        request,
        "reviews/panel_board.html",
        {
            "branch": branch,
            "period": period,
            "rows": selectors.panel_status(branch=branch, period=period),
            "is_panelist": perms.has_org_perm(request.user, perms.PANEL_SCORE, branch),
            "can_confirm": perms.has_org_perm(request.user, perms.BRANCH_RUN, branch),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def panel_member(request, org_id, period_id, member_id):
    """A panelist scores one member item by item, seeing the self-assessment and the ledger."""
    branch = _branch(request, org_id, perms.LEDGER_VIEW)
    period = get_object_or_404(Period, pk=period_id)
    member = get_object_or_404(Member, pk=member_id, branch=branch)
    scheme = scheme_for_member(member=member, year=period.cycle.year)
    if scheme is None:
        raise Http404
    items = list(scheme.items.exclude(kind=RuleItem.Kind.VETO))
    typed = {}  # what the panelist typed, kept when the save is refused (not after a conflict: see below)
    if request.method == "POST":
        if request.POST.get("action") == "confirm":
            decided = None
            if request.POST.get("decided"):
                decided = {i: request.POST.get(f"points_{i.pk}") or "0" for i in items}
            return _done(
                request,
                lambda: services.panel_confirm(actor=request.user, member=member, period=period, decided=decided),
                _("已确认本期得分并记入台账"),
                reverse("panel_board", args=[branch.pk, period.pk]),
            )
        scores, versions = {}, {}
        try:
            for item in items:
                raw = (request.POST.get(f"points_{item.pk}") or "").strip()
                if raw:
                    scores[item] = raw
                    versions[item.pk] = posted_int(request.POST.get(f"version_{item.pk}"), 0)
            services.panel_score_save(
                actor=request.user, member=member, period=period, scores=scores, versions=versions
            )
        except (ApplicationError, ValueError) as error:
            message = getattr(error, "message", _("分值须为数字"))
            messages.error(request, message)
            if message != _(services.PANEL_CONFLICT):
                typed = {i.pk: request.POST.get(f"points_{i.pk}", "") for i in items}
        else:
            messages.success(request, _("评分已保存"))
            if request.POST.get("action") == "save_next":
                following = selectors.panel_next_member(
                    branch=branch, period=period, after=member, panelist=request.user
                )
                if following is not None:
                    return redirect("panel_member", org_id=branch.pk, period_id=period.pk, member_id=following.pk)
                messages.info(request, _("本期名单中的党员您都已评分"))
                return redirect("panel_board", org_id=branch.pk, period_id=period.pk)
            return redirect(request.path)
    # Read after a refused save, so the form carries the stored versions to retry from; after a
    # conflict it shows what is stored now (a colleague's change), otherwise what was typed.
    mine = {s.item_id: s for s in PanelScore.objects.filter(panelist=request.user, member=member, period=period)}
    assessment = SelfAssessment.objects.filter(member=member, period=period).prefetch_related("claims").first()
    claims = {c.item_id: c for c in assessment.claims.all()} if assessment else {}
    ledger = {}
    for entry in LedgerEntry.objects.filter(member=member, period=period):
        ledger[entry.item_id] = ledger.get(entry.item_id, 0) + entry.points
    combined, panelists = services.panel_combine(
        member=member, period=period, combination=services.review_settings(scheme).panel_combination
    )
    rows = [
        {
            "item": i,
            "mine": mine.get(i.pk),
            "claim": claims.get(i.pk),
            "ledger": ledger.get(i.pk),
            "value": typed[i.pk] if typed else (format_points(mine[i.pk].points) if i.pk in mine else ""),
            "combined": combined.get(i),
            "limit": format_points(services.scoring.period_limit(i)),
        }
        for i in items
    ]
    return render(
        request,
        "reviews/panel_member.html",
        {
            "branch": branch,
            "period": period,
            "member": member,
            "rows": rows,
            "assessment": assessment,
            "panelists": panelists,
            "combination": services.review_settings(scheme).get_panel_combination_display(),
            "is_panelist": perms.has_org_perm(request.user, perms.PANEL_SCORE, branch)
            and member.user_id != request.user.pk,
            "can_confirm": perms.has_org_perm(request.user, perms.BRANCH_RUN, branch),
        },
    )


# ── mass evaluation (评绩) ───────────────────────────────────────────────────────────────────


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def mass_form(request, org_id):
    branch = member_selectors.branch_get(actor=request.user, branch_id=org_id, perm=perms.MASS_EVALUATE)
    year = _year()
    members = list(Member.objects.filter(branch=branch, left_on__isnull=True, exempt=False).order_by("number"))
    form = MassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            post = request.POST
            ratings = {
                m.pk: (posted_int(post.get(f"rating_{m.pk}"), 0), post.get(f"comment_{m.pk}", "")) for m in members
            }
            if any(r not in (1, 2, 3, 4) for r, _c in ratings.values()):
                raise ApplicationError(_("请对每位党员作出评价"))
            services.mass_evaluation_submit(
                actor=request.user, branch=branch, year=year, ratings=ratings, **form.cleaned_data
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("感谢您的评议，已提交"))
            return redirect("home")
    totals = {t.member_id: t.total for t in MemberYearTotal.objects.filter(branch=branch, year=year)}
    rows = [{"member": m, "total": format_points(totals.get(m.pk))} for m in members]
    return render(
        request,
        "reviews/mass_form.html",
        {"branch": branch, "year": year, "form": form, "rows": rows, "ratings": form.fields["panel_rating"].choices},
        status=400 if form.errors else 200,
    )


@login_required
@require_safe
def mass_results(request, org_id):
    branch = _branch(request, org_id, perms.MASS_RESULTS_VIEW)
    year = _year()
    result = services.mass_results_freeze(actor=request.user, branch=branch, year=year)
    return render(
        request,
        "reviews/mass_results.html",
        {
            "branch": branch,
            "year": year,
            "summary": selectors.mass_summary(actor=request.user, branch=branch, year=year, result=result),
        },
    )


# ── determination (定绩) and follow-ups ──────────────────────────────────────────────────────


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def determination(request, org_id, year):
    branch = _branch(request, org_id, perms.LEDGER_VIEW)
    get_object_or_404(Cycle, year=year)  # a year that was never opened has nothing to determine
    current = Determination.objects.filter(branch=branch, year=year).exclude(status="reopened").first()
    can_run = perms.has_org_perm(request.user, perms.BRANCH_RUN, branch)
    if request.method == "POST":
        if not can_run:
            raise PermissionDenied(_("只有支部书记可以记录党员大会的评定"))
        if request.POST.get("action") == "prepare":
            services.determination_prepare(actor=request.user, branch=branch, year=year)
            return redirect(request.path)
        form = DeterminationForm(request.POST)
        if current is None:
            messages.error(request, _("请完整填写党员大会信息"))
            return redirect(request.path)
        if form.is_valid():
            try:
                services.determination_decide(
                    actor=request.user, determination=current, grades=_posted_grades(request.POST), **form.cleaned_data
                )
            except ApplicationError as error:
                messages.error(request, error.message)  # over the bound form: the meeting's details stay
            else:
                messages.success(request, _("已记录党员大会评定"))
                return redirect(request.path)
        else:
            messages.error(request, _("请完整填写党员大会信息"))
    else:
        form = None
    refused = form is not None
    rows = selectors.determination_rows(
        branch=branch, year=year, posted=_posted_grades(request.POST) if refused else {}
    )
    form = form or DeterminationForm(
        initial={
            "meeting_date": timezone.localdate(),
            "lock_version": current.lock_version if current else 0,
            "members_expected": len(rows),
        }
    )
    mass = None
    if selectors.may_see_mass_results(actor=request.user, branch=branch):  # the masses' view, beside the totals
        mass = selectors.mass_summary(
            actor=request.user,
            branch=branch,
            year=year,
            result=services.mass_results_freeze(actor=request.user, branch=branch, year=year),
        )
    return render(
        request,
        "reviews/determination.html",
        {
            "branch": branch,
            "year": year,
            "current": current,
            "rows": rows,
            "form": form,
            "can_run": can_run,
            "mass": mass,
            "problems": services.share_cap_problems(branch, year),
            "open_objections": selectors.branch_todo(actor=request.user, branch=branch, year=year)["objections"],
            "can_reopen": perms.has_org_perm(request.user, perms.OVERSEE, branch),
            "grade_labels": dict(EvaluationGrade.choices),
            "history": Determination.objects.filter(branch=branch, year=year).order_by("-version"),
        },
        status=400 if refused else 200,
    )


def _posted_grades(post):
    """member id → grade from the determination form's `grade-<member id>` selects."""
    grades = {}
    for key, value in post.items():
        prefix, _dash, member_id = key.partition("-")
        if prefix == "grade" and member_id.isdigit():
            grades[int(member_id)] = value
    return grades


@login_required
@require_POST
def determination_reopen(request, determination_id):
    current = get_object_or_404(Determination, pk=determination_id)
    if not perms.has_org_perm(request.user, perms.LEDGER_VIEW, current.branch):
        raise PermissionDenied(_("您无权查看该评定"))
    try:
        services.determination_reopen(actor=request.user, determination=current, reason=request.POST.get("reason"))
        messages.success(request, _("已重新开启"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("determination", org_id=current.branch_id, year=current.year)


@login_required
@require_POST
def rollover_start(request):
    """Roll over from the year the form names, so a second click cannot open two years."""
    committee = Organization.objects.get(parent__isnull=True)
    cycle = current_cycle()
    try:
        from_year = int(request.POST.get("from_year") or (cycle.year if cycle else 0))
    except ValueError as error:
        raise Http404 from error
    try:
        job = rollover.rollover_start(actor=request.user, committee=committee, from_year=from_year)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("cycle_list")
    return redirect("rollover_progress", rollover_id=job.pk)


@login_required
@require_safe
def rollover_progress(request, rollover_id):
    """The progress bar polls this page (htmx) until every branch is done."""
    job = get_object_or_404(Rollover, pk=rollover_id)
    if not perms.has_org_perm(request.user, perms.CYCLE_MANAGE, Organization.objects.get(parent__isnull=True)):
        raise PermissionDenied(_("只有组织部可以查看年度切换"))
    done = job.branches_done.count()
    context = {"job": job, "done": done, "percent": 100 * done // job.branches_total if job.branches_total else 100}
    template = "reviews/_rollover_bar.html" if request.htmx else "reviews/rollover.html"
    return render(request, template, context)


@login_required
@require_safe
def escalations(request):
    """Overdue duties reported to the units the viewer runs (branch, college or committee)."""
    units = selectors.escalation_units(actor=request.user)
    if not units:
        raise PermissionDenied(_("您无权查看逾期上报"))
    return render(request, "reviews/escalations.html", {"items": selectors.escalations_for(units=units)})


@login_required
@require_safe
def follow_ups(request):
    if not selectors.may_see_follow_ups(actor=request.user):
        raise PermissionDenied(_("您无权查看后续处理事项"))
    items = selectors.follow_ups_visible(actor=request.user).order_by("status", "due_on")
    return render(request, "reviews/follow_ups.html", {"items": items})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def follow_up_record(request, follow_up_id):
    follow_up = selectors.follow_ups_visible(actor=request.user).filter(pk=follow_up_id).first()
    if follow_up is None:
        raise PermissionDenied(_("您无权办理该事项"))
    kinds = dict(MemberStatusEvent.Kind.choices)
    form = FollowUpForm(
        request.POST or None,
        initial={"done_on": timezone.localdate()},
        status_kinds=[(k, kinds[k]) for k in services.FOLLOW_UP_STATUS_KINDS.get(follow_up.kind, ())],
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.follow_up_complete(actor=request.user, follow_up=follow_up, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已记录办理情况"))
            return redirect("follow_ups")
    return render(
        request,
        "reviews/form.html",
        {"form": form, "title": _("办理记录"), "follow_up": follow_up},
        status=400 if form.errors else 200,
    )


# ── review settings (评议流程设置) ─────────────────────────────────────────────────────────────


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def review_settings_edit(request, scheme_id):
    """A scheme's 评议流程设置, for whoever manages the scheme at its level."""
    scheme = scoring_selectors.scheme_get(actor=request.user, scheme_id=scheme_id)
    if not perms.has_org_perm(request.user, perms.SCHEME_MANAGE, scheme.owner):
        raise PermissionDenied(_("您无权修改该评分标准的评议流程设置"))
    current = services.review_settings(scheme)
    reserved = services.review_settings_reserved(scheme)
    initial = {f: getattr(current, f) for f in current.FIELDS}
    form = ReviewSettingsForm(request.POST or None, initial=initial, reserved=reserved)
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in current.FIELDS if f not in reserved}
        try:
            services.review_settings_save(
                actor=request.user, scheme=scheme, data=data, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("评议流程设置已保存"))
            return redirect("review_settings", scheme_id=scheme.pk)
    return render(request, "reviews/review_settings.html", {"scheme": scheme, "form": form, "derived": bool(reserved)})
