"""Thin views: parse, call one selector or service, render."""

import io

import openpyxl
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from import_export.formats.base_formats import XLSX

from partyscore.core.access_log import Kind, access_log
from partyscore.core.exceptions import ApplicationError
from partyscore.core.filenames import attachment
from partyscore.core.filters import list_filters
from partyscore.core.forms import AccessLogFilterForm
from partyscore.core.models import ACTION_LABELS
from partyscore.core.pending_upload import pending_upload_keep, pending_upload_take
from partyscore.core.upload_limit import limit_upload
from partyscore.core.xlsx_safety import TOO_LARGE, formulas_as_text, read_upload

from . import campus_login, selectors, services, tree
from . import permissions as perms
from .forms import (
    ApiTokenForm,
    AuditFilterForm,
    ExemptionDecisionForm,
    ExemptionRequestForm,
    MemberEditForm,
    MemberFilterForm,
    MemberStatusForm,
    MemberTransferForm,
    OrganizationAddForm,
    OrganizationCloseForm,
    OrganizationMergeForm,
    OrganizationMoveForm,
    OrganizationRenameForm,
    PasswordLoginPolicyForm,
    RoleAssignForm,
    RoleRevokeForm,
    RosterUploadForm,
    TreeUploadForm,
    TwoFactorRequirementForm,
)
from .models import CHILD_KIND, Organization
from .roster import read_spreadsheet, roster_export_dataset, roster_import, roster_template_dataset, roster_update
from .tree_import import read_tree_workbook, tree_import, tree_template_workbook

MEMBERS_PER_PAGE = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(dataset, filename):
    book = openpyxl.load_workbook(io.BytesIO(XLSX().export_data(dataset)))
    formulas_as_text(book.active)  # tablib would write a name starting with "=" as a formula
    content = io.BytesIO()
    book.save(content)
    response = HttpResponse(content.getvalue(), content_type=XLSX_TYPE)
    return attachment(response, filename)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "members/password_change.html"
    http_method_names = ["get", "head", "post"]  # a FormView would take PUT as POST
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.user_password_changed(user=self.request.user)
        messages.success(self.request, _("密码已修改"))
        return response


@login_required
@require_safe
def org_tree(request):
    orgs = selectors.organization_tree(actor=request.user)
    return render(
        request,
        "members/org_tree.html",
        {"orgs": orgs, "can_import": perms.holds_anywhere(request.user, perms.TREE_MANAGE)},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def org_add(request, org_id):
    """Add a node below `org`: a general branch below the committee, a branch below a general branch."""
    parent = selectors.tree_parent_get(actor=request.user, org_id=org_id)
    form = OrganizationAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            org = services.organization_create(
                actor=request.user,
                parent=parent,
                name=data["name"],
                code=data["code"],
                kind=CHILD_KIND[parent.kind],
                category=data["category"],
                reason=data["reason"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已新增%(org)s") % {"org": org})
            return redirect("org_tree")
    kind = Organization.Kind(CHILD_KIND[parent.kind]).label
    return render(
        request,
        "members/org_add.html",
        {"parent": parent, "form": form, "kind": kind},
        status=400 if form.errors else 200,
    )


# The adjustments of the node page, each a form of its own (prefixed: one page holds all of them).
ORG_ACTIONS = ("rename", "move", "merge", "close")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def org_manage(request, org_id):
    """Rename, move, merge or close one node, each with its reason."""
    org = selectors.tree_node_get(actor=request.user, org_id=org_id)
    action = request.POST.get("action") if request.method == "POST" else None
    if action is not None and action not in ORG_ACTIONS:
        action = None
    move_targets = selectors.tree_move_targets(actor=request.user, org=org)
    merge_targets = selectors.tree_merge_targets(actor=request.user, org=org)
    offered = {"rename": True, "move": move_targets.exists(), "merge": merge_targets.exists(), "close": True}
    if action is not None and not offered[action]:  # nowhere within the actor's scope to move or merge it to
        raise PermissionDenied(_("您无权调整“%(org)s”") % {"org": org})

    def bound(name):
        return request.POST if action == name else None

    forms = {
        "rename": OrganizationRenameForm(bound("rename"), prefix="rename", initial={"name": org.name}),
        "move": OrganizationMoveForm(bound("move"), prefix="move", targets=move_targets),
        "merge": OrganizationMergeForm(bound("merge"), prefix="merge", targets=merge_targets),
        "close": OrganizationCloseForm(bound("close"), prefix="close"),
    }
    if action is not None and forms[action].is_valid():
        data = forms[action].cleaned_data
        try:
            if action == "rename":
                tree.organization_rename(actor=request.user, organization=org, name=data["name"], reason=data["reason"])
                messages.success(request, _("已更名为%(name)s") % {"name": data["name"]})
            elif action == "move":
                tree.organization_move(
                    actor=request.user, organization=org, new_parent=data["new_parent"], reason=data["reason"]
                )
                messages.success(request, _("已改隶属于%(org)s") % {"org": data["new_parent"]})
            elif action == "merge":
                moved = tree.organization_merge(
                    actor=request.user,
                    source=org,
                    target=data["target"],
                    merged_on=data["merged_on"],
                    reason=data["reason"],
                )
                messages.success(
                    request, _("已并入%(org)s，转入 %(n)s 名党员") % {"org": data["target"], "n": len(moved)}
                )
            else:
                tree.organization_close(
                    actor=request.user, organization=org, closed_on=data["closed_on"], reason=data["reason"]
                )
                messages.success(request, _("已撤销%(org)s") % {"org": org})
        except ApplicationError as error:
            forms[action].add_error(None, error.message)
        else:
            return redirect("org_tree")
    return render(
        request,
        "members/org_manage.html",
        {
            "org": org,
            "forms": forms,
            "can_move": offered["move"],
            "can_merge": offered["merge"],
            "active_members": org.members.filter(left_on__isnull=True).count() if org.is_branch else None,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_safe
@list_filters(MemberFilterForm)
def member_list(request, org_id, filters):
    organization = selectors.branch_get(actor=request.user, branch_id=org_id)
    form = MemberFilterForm(request.GET)  # valid: shown with the values chosen
    members = selectors.member_list(
        actor=request.user,
        organization=organization,
        query=filters.get("q", ""),
        category=filters.get("category", ""),
        status=filters.get("status", ""),
        cadre=filters.get("cadre", ""),
    )
    page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "organization": organization,
        "form": form,
        "page": page,
        "rows": selectors.roster_rows(page.object_list),
        "can_manage": perms.has_org_perm(request.user, perms.ROSTER_MANAGE, organization),
        "querystring": request.GET.copy(),
    }
    template = "members/_member_table.html" if request.htmx else "members/member_list.html"
    return render(request, template, context)


@login_required
@require_safe
def member_export(request, org_id):
    organization = selectors.branch_get(actor=request.user, branch_id=org_id)
    members = selectors.member_list(actor=request.user, organization=organization)
    services.roster_exported(actor=request.user, organization=organization)
    access_log(request, Kind.EXPORT, {"export": "roster", "organization": organization.code})
    return xlsx_response(roster_export_dataset(members), f"roster-{organization.code}.xlsx")


@login_required
@require_safe
def member_detail(request, member_id):
    member = selectors.member_get(actor=request.user, member_id=member_id)
    context = {
        "member": member,
        "transfers": selectors.member_transfers(member=member),
        "status_events": selectors.member_status_events(member=member),
        "can_manage": perms.has_org_perm(request.user, perms.ROSTER_MANAGE, member.branch),
        "can_transfer": _transfer_targets(request.user, member).exists(),
        "can_approve": perms.has_org_perm(request.user, perms.EXEMPTION_APPROVE, member.branch),
        "exemption_request_form": ExemptionRequestForm(),
        "exemption_decision_form": ExemptionDecisionForm(),
    }
    return render(request, "members/member_detail.html", context)


def _managed_member(request, member_id):
    member = selectors.member_get(actor=request.user, member_id=member_id)
    if not perms.has_org_perm(request.user, perms.ROSTER_MANAGE, member.branch):
        raise PermissionDenied(_("您无权修改该党员的信息"))
    return member


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def member_edit(request, member_id):
    """Correct the member's record (name, numbers, contact, category, cadre), with the reason."""
    member = _managed_member(request, member_id)
    initial = {field: getattr(member, field) for field in services.MEMBER_EDITABLE}
    form = MemberEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
        try:
            services.member_edit(actor=request.user, member=member, data=data, reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已保存修改"))
            return redirect("member_detail", member_id=member.pk)
    return render(
        request,
        "members/member_form.html",
        {"member": member, "form": form, "title": _("修改党员信息")},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def member_status(request, member_id):
    """Record a dated status change: 转正, 延长预备期, 取消预备党员资格, 出党, 转出学校, 毕业离校."""
    member = _managed_member(request, member_id)
    form = MemberStatusForm(
        request.POST or None,
        kinds=selectors.status_kinds_for(member=member),
        initial={"occurred_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.member_status_record(
                actor=request.user,
                member=member,
                kind=data["kind"],
                occurred_on=data["occurred_on"],
                until=data.get("until"),
                reason=data["reason"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已记录身份变化"))
            return redirect("member_detail", member_id=member.pk)
    return render(
        request,
        "members/member_form.html",
        {"member": member, "form": form, "title": _("记录党员身份变化"), "left": member.left_on is not None},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def member_exemption_request(request, member_id):
    member = selectors.member_get(actor=request.user, member_id=member_id)
    form = ExemptionRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写免于记分的原因"))
        return redirect("member_detail", member_id=member.pk)
    try:
        services.member_exemption_request(actor=request.user, member=member, reason=form.cleaned_data["reason"])
        messages.success(request, _("已提交免于记分申请，待校党委审批"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("member_detail", member_id=member.pk)


@login_required
@require_POST
def member_exemption_decide(request, member_id):
    member = selectors.member_get(actor=request.user, member_id=member_id)
    form = ExemptionDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择审批结果"))
        return redirect("member_detail", member_id=member.pk)
    try:
        services.member_exemption_decide(
            actor=request.user, member=member, approve=form.cleaned_data["approve"], reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("已记录审批结果"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("member_detail", member_id=member.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def org_roles(request, org_id):
    """The appointments at one node; whoever may appoint here also appoints and revokes on this page."""
    organization = selectors.branch_get(actor=request.user, branch_id=org_id)
    roles = perms.appointable_roles(request.user, organization)
    assign_form = RoleAssignForm(roles=roles)
    revoke_failed = revoke_stale = None
    status = 200
    if request.method == "POST":
        if not roles:
            raise PermissionDenied(_("您无权在“%(org)s”任命角色") % {"org": organization})
        if request.POST.get("action") == "reset_password":
            assignment = selectors.role_assignment_at(
                organization=organization, assignment_id=request.POST.get("assignment")
            )
            return _password_reset(request, assignment.user, reverse("org_roles", args=[organization.pk]))
        if request.POST.get("action") == "revoke":
            revoke_form = RoleRevokeForm(request.POST, organization=organization)
            if revoke_form.is_valid():
                try:
                    services.role_revoke(
                        actor=request.user,
                        assignment=revoke_form.cleaned_data["assignment"],
                        reason=revoke_form.cleaned_data["reason"],
                    )
                    messages.success(request, _("已撤销任命"))
                    return redirect("org_roles", org_id=organization.pk)
                except ApplicationError:  # revoked meanwhile by someone else
                    revoke_stale = True
            elif "assignment" in revoke_form.errors:
                revoke_stale = True
            else:
                revoke_failed = revoke_form.cleaned_data["assignment"].pk
        else:
            assign_form = RoleAssignForm(request.POST, roles=roles)
            if assign_form.is_valid():
                data = assign_form.cleaned_data
                term = {
                    "organization": organization,
                    "role": data["role"],
                    "starts_on": data["starts_on"],
                    "ends_on": data["ends_on"],
                    "reason": data["reason"],
                }
                try:
                    if data["user"] is not None:
                        services.role_assign(actor=request.user, user=data["user"], **term)
                        messages.success(request, _("已任命"))
                        return redirect("org_roles", org_id=organization.pk)
                    assignment, password = services.role_assign_new_account(
                        actor=request.user,
                        username=data["username"],
                        full_name=data["full_name"],
                        email=data["email"],
                        **term,
                    )
                    # Shown once, in this answer only: nothing but its hash is kept.
                    return render(
                        request,
                        "members/one_time_password.html",
                        {
                            "account": assignment.user,
                            "password": password,
                            "opened": True,
                            "back": reverse("org_roles", args=[organization.pk]),
                        },
                    )
                except ApplicationError as error:
                    assign_form.add_error(None, error.message)
        status = 400
    context = {
        "organization": organization,
        "assign_form": assign_form,
        "revoke_failed": revoke_failed,
        "revoke_stale": revoke_stale,
        "can_appoint": bool(roles),
        "appointable": [role.value for role in roles],
        "today": timezone.localdate(),
        "assignments": selectors.role_assignments(actor=request.user, organization=organization),
        "mass_below": selectors.mass_representatives_below(actor=request.user, organization=organization),
    }
    return render(request, "members/org_roles.html", context, status=status)


def _transfer_targets(user, member):
    """The other branches `user` could move `member` to: both rosters must be theirs (a secretary of
    one branch has none; the organization department, every branch)."""
    if not perms.has_org_perm(user, perms.ROSTER_MANAGE, member.branch):
        return Organization.objects.none()
    return (
        perms.orgs_with_perm(user, perms.ROSTER_MANAGE)
        .filter(kind=Organization.Kind.BRANCH)
        .exclude(pk=member.branch_id)
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def member_transfer(request, member_id):
    """Move a member to another branch the actor manages; the move is kept in the member's history."""
    member = selectors.member_get(actor=request.user, member_id=member_id)
    branches = _transfer_targets(request.user, member)
    if not branches.exists():
        raise PermissionDenied(_("您无权转接该党员"))
    form = MemberTransferForm(request.POST or None, branches=branches)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.member_transfer(
                    actor=request.user,
                    member=member,
                    to_branch=data["to_branch"],
                    transferred_on=data["transferred_on"],
                    reason=data["reason"],
                )
                messages.success(request, _("已转入%(branch)s") % {"branch": data["to_branch"]})
                return redirect("member_detail", member_id=member.pk)
            except ApplicationError as error:
                form.add_error(None, error.message)
        return render(request, "members/member_transfer.html", {"member": member, "form": form}, status=400)
    return render(request, "members/member_transfer.html", {"member": member, "form": form})


@login_required
@require_safe
def exemption_queue(request):
    if not perms.orgs_with_perm(request.user, perms.EXEMPTION_APPROVE).exists():
        raise PermissionDenied(_("您无权审批免于记分"))
    return render(
        request, "members/exemption_queue.html", {"members": selectors.pending_exemptions(actor=request.user)}
    )


def _require_roster_manager(user):
    if not perms.orgs_with_perm(user, perms.ROSTER_MANAGE).exists():
        raise PermissionDenied(_("您无权导入党员名册"))


@csrf_exempt
def roster_import_upload(request):
    """Step 1: upload and check every row (nothing is written). The size limit is enforced while the
    body is received, before CSRF and the form read it (as the score-card import does)."""
    limiter = limit_upload(request, settings.IMPORT_MAX_UPLOAD_BYTES)
    return _roster_import_upload(request, limiter)


@csrf_protect
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def _roster_import_upload(request, limiter):
    _require_roster_manager(request.user)
    files = request.FILES  # reads the body through the limiter
    if request.method == "POST" and limiter.too_large:
        form = RosterUploadForm(request.POST, {})
        form.full_clean()  # the file was dropped while it arrived: say why instead of "required"
        limit = settings.IMPORT_MAX_UPLOAD_BYTES // 1024 // 1024
        form.errors["file"] = form.error_class([_(TOO_LARGE) % {"mb": limit}])
        return render(request, "members/roster_import.html", {"form": form}, status=413)
    form = RosterUploadForm(request.POST or None, files or None)
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        # Only the hash is kept between the two steps: the session is signed, not encrypted.
        password = form.cleaned_data["initial_password"] if form.cleaned_data["create_accounts"] else None
        password_hash = make_password(password) if password else None
        upload = form.cleaned_data["file"]
        mode, reason = form.cleaned_data["mode"], form.cleaned_data["reason"]
        try:
            dataset = read_spreadsheet(upload)
            result = _roster_check(request.user, dataset, mode, reason, password_hash, confirm=False)
        except ApplicationError as error:
            form.add_error("file", error.message)
            return render(request, "members/roster_import.html", context, status=400)
        context.update(result=result, headers=dataset.headers, mode=mode)
        if result.ok:
            upload.seek(0)
            context["token"] = pending_upload_keep(
                request, "roster_import", upload.read(), password_hash=password_hash, mode=mode, reason=reason
            )
        return render(request, "members/roster_import.html", context, status=200 if result.ok else 400)
    return render(request, "members/roster_import.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def roster_import_confirm(request):
    """Step 2: write the checked file, all or nothing."""
    _require_roster_manager(request.user)
    pending = pending_upload_take(request, "roster_import")
    try:
        if pending is None:
            raise ApplicationError(_("导入已过期，请重新上传文件"))
        data, extra = pending
        dataset = read_spreadsheet(SimpleUploadedFile("roster.xlsx", data))
        mode = extra.get("mode", RosterUploadForm.ADD)
        result = _roster_check(
            request.user, dataset, mode, extra.get("reason", ""), extra["password_hash"], confirm=True
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("roster_import")
    access_log(
        request,
        Kind.IMPORT,
        {
            "import": "roster",
            "mode": mode,
            "rows": len(dataset),
            "created": result.created,
            "errors": len(result.errors),
        },
    )
    if not result.ok:
        return render(
            request,
            "members/roster_import.html",
            {"form": RosterUploadForm(), "result": result, "headers": dataset.headers, "mode": mode},
            status=400,
        )
    if mode == RosterUploadForm.UPDATE:
        messages.success(
            request,
            _("已新增 %(new)s 名、修改 %(changed)s 名党员，记录离开 %(left)s 名")
            % {"new": result.created, "changed": result.updated, "left": result.left},
        )
    else:
        messages.success(request, _("已导入 %(n)s 名党员") % {"n": result.created})
    return redirect("org_tree")


def _require_tree_manager(user):
    if not perms.holds_anywhere(user, perms.TREE_MANAGE):
        raise PermissionDenied(_("您无权导入组织架构"))


@csrf_exempt
def tree_import_upload(request):
    """Step 1 of the tree import: upload and check every row of both sheets (nothing is kept)."""
    limiter = limit_upload(request, settings.IMPORT_MAX_UPLOAD_BYTES)
    return _tree_import_upload(request, limiter)


@csrf_protect
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def _tree_import_upload(request, limiter):
    _require_tree_manager(request.user)
    files = request.FILES  # reads the body through the limiter
    if request.method == "POST" and limiter.too_large:
        form = TreeUploadForm(request.POST, {})
        form.full_clean()
        limit = settings.IMPORT_MAX_UPLOAD_BYTES // 1024 // 1024
        form.errors["file"] = form.error_class([_(TOO_LARGE) % {"mb": limit}])
        return render(request, "members/tree_import.html", {"form": form}, status=413)
    form = TreeUploadForm(request.POST or None, files or None)
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            data = read_upload(upload)
            result = tree_import(actor=request.user, tables=read_tree_workbook(data), confirm=False)
        except ApplicationError as error:
            form.add_error("file", error.message)
            return render(request, "members/tree_import.html", context, status=400)
        context["result"] = result
        if result.ok:
            context["token"] = pending_upload_keep(request, "tree_import", data)
        return render(request, "members/tree_import.html", context, status=200 if result.ok else 400)
    return render(request, "members/tree_import.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def tree_import_confirm(request):
    """Step 2: write the checked workbook, all or nothing; one-time passwords shown once."""
    _require_tree_manager(request.user)
    pending = pending_upload_take(request, "tree_import")
    try:
        if pending is None:
            raise ApplicationError(_("导入已过期，请重新上传文件"))
        result = tree_import(actor=request.user, tables=read_tree_workbook(pending[0]), confirm=True)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("tree_import")
    access_log(
        request,
        Kind.IMPORT,
        {
            "import": "tree",
            "organizations": len(result.organizations),
            "appointments": len(result.appointments),
            "errors": len(result.errors),
        },
    )
    if not result.ok:
        return render(request, "members/tree_import.html", {"form": TreeUploadForm(), "result": result}, status=400)
    return render(request, "members/tree_import.html", {"result": result, "done": True})


@login_required
@require_safe
def tree_template(request):
    _require_tree_manager(request.user)
    response = HttpResponse(tree_template_workbook(), content_type=XLSX_TYPE)
    return attachment(response, "org-tree-template.xlsx")


def _roster_check(actor, dataset, mode, reason, password_hash, *, confirm):
    if mode == RosterUploadForm.UPDATE:
        return roster_update(
            actor=actor, dataset=dataset, confirm=confirm, reason=reason, account_password_hash=password_hash
        )
    return roster_import(actor=actor, dataset=dataset, confirm=confirm, account_password_hash=password_hash)


@login_required
@require_safe
def roster_template(request):
    _require_roster_manager(request.user)
    return xlsx_response(roster_template_dataset(), "roster-template.xlsx")


@login_required
@require_safe
@list_filters(AuditFilterForm)
def audit_list(request, filters):
    events = selectors.audit_events(
        actor=request.user, action=filters["action"], target_type=filters["target_type"], target_id=filters["target_id"]
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    actions = sorted(ACTION_LABELS.items())  # by code, so the actions of one area stay together
    return render(request, "members/audit_list.html", {"page": page, "actions": actions})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def two_factor_requirements(request):
    """The organization department requires the second factor (两步验证) per role."""
    roles = selectors.two_factor_overview(actor=request.user)
    form = TwoFactorRequirementForm(
        request.POST or None, initial={"roles": [r["role"].value for r in roles if r["required"]]}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.two_factor_requirement_set(
                actor=request.user, roles=form.cleaned_data["roles"], reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已保存：各账号自下次登录起按新的要求执行"))
            return redirect("two_factor_requirements")
    chosen = set(form["roles"].value() or [])
    return render(
        request,
        "members/two_factor_requirements.html",
        {"form": form, "roles": [{**r, "checked": r["role"].value in chosen} for r in roles]},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def password_login_policy(request):
    """The organization department switches password login off for party members (统一身份认证 only)."""
    if not perms.is_committee_officer(request.user):
        raise PermissionDenied(_("只有党委组织部可以设置密码登录范围"))
    form = PasswordLoginPolicyForm(
        request.POST or None, initial={"members_use_campus_login": campus_login.members_use_campus_login()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.password_login_policy_set(
                actor=request.user,
                reason=form.cleaned_data["reason"],
                members_use_campus_login=form.cleaned_data["members_use_campus_login"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已保存：自下次登录起执行"))
            return redirect("password_login_policy")
    return render(
        request,
        "members/password_login_policy.html",
        {"form": form, "campus": campus_login.enabled()},
        status=400 if form.errors else 200,
    )


def _password_reset(request, user, back):
    """Set a one-time password for `user` (permission checked by the service) and show it once."""
    try:
        password = services.user_password_reset_by_manager(
            actor=request.user, user=user, reason=request.POST.get("reason", "")
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(back)
    return render(request, "members/one_time_password.html", {"account": user, "password": password, "back": back})


@login_required
@require_POST
def member_password_reset(request, member_id):
    """The roster's manager resets a member's forgotten password (no e-mail on file): a one-time
    password shown once, to be changed at the next login."""
    member = _managed_member(request, member_id)
    if member.user is None:
        messages.error(request, _("该党员尚未开通账号"))
        return redirect("member_detail", member_id=member.pk)
    return _password_reset(request, member.user, reverse("member_detail", args=[member.pk]))


# ── API tokens (接口令牌) ─────────────────────────────────────────────────────────────────────


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def api_tokens(request):
    """The user's own tokens for the REST API: a new one is shown once, then only its first letters."""
    form = ApiTokenForm(request.POST or None)
    created, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _token, created = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
            except ApplicationError as error:
                form.add_error("name", error.message)
            else:
                form = ApiTokenForm()
        if created is None:
            status = 400
    tokens = request.user.api_tokens.all()
    return render(
        request, "members/api_tokens.html", {"form": form, "tokens": tokens, "created": created}, status=status
    )


@login_required
@require_POST
def api_token_revoke(request, token_id):
    try:
        token = services.api_token_revoke(user=request.user, token_id=token_id)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("已撤销令牌“%(name)s”，使用它的请求将立即被拒绝") % {"name": token.name})
    return redirect("api_tokens")


SECURITY_LOG_ENTRIES_PER_PAGE = 50


@login_required
@require_safe
@list_filters(AccessLogFilterForm)
def access_log_list(request, filters):
    """The security log with its filters; a malformed filter is named under its field (400)."""
    entries = selectors.access_log_entries(
        actor=request.user,
        kind=filters["kind"],
        username=filters["username"],
        day_from=filters["day_from"],
        day_to=filters["day_to"],
    )
    query = request.GET.copy()
    query.pop("page", None)
    page = Paginator(entries, SECURITY_LOG_ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "access_log.html",
        {
            "form": AccessLogFilterForm(request.GET),
            "page": page,
            "query": query.urlencode(),
            "retention_days": settings.SECURITY_LOG_RETENTION_DAYS,
        },
    )
