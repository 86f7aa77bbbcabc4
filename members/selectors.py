"""Reads shared by views and exports. Each takes the acting user and returns only what they may see."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from partyscore.core.choices import choice_labels
from partyscore.core.models import AccessLog, AuditEvent

from . import permissions as perms
from .models import CHILD_KIND, Member, Organization, Role, RoleAssignment, User

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import date

    from django.contrib.auth.models import AnonymousUser
    from django.db.models import QuerySet

    from .models import MemberStatusEvent, MemberTransfer


def organization_tree(*, actor: User) -> list[Organization]:
    """The nodes `actor` may see, in tree order, each with its count of current members, and
    `can_adjust` (rename, move, merge, close) and `can_add` (add a node below) for `actor`; the
    permissions come from the request's one permission query, so the queries do not grow with the tree."""
    visible = perms.orgs_with_perm(actor, perms.ROSTER_VIEW)
    orgs = list(
        visible.annotate(member_count=Count("members", filter=Q(members__left_on__isnull=True)))
        .select_related("parent")
        .order_by("path")
    )  # Meta.ordering does not apply to a GROUP BY query
    for org in orgs:
        org.can_adjust = org.closed_on is None and perms.may_adjust_tree(actor, org)
        org.can_add = (
            org.closed_on is None and org.kind in CHILD_KIND and perms.has_org_perm(actor, perms.TREE_MANAGE, org)
        )
    return orgs


def tree_node_get(*, actor: User, org_id: int) -> Organization:
    """A node `actor` may adjust (members/tree.py), or PermissionDenied (a forged id included)."""
    org = Organization.objects.select_related("parent").filter(pk=org_id).first()
    if org is None or not perms.may_adjust_tree(actor, org):
        raise PermissionDenied(_("您无权调整该党组织"))
    return org


def tree_parent_get(*, actor: User, org_id: int) -> Organization:
    """A node below which `actor` may add one."""
    org = Organization.objects.filter(pk=org_id).first()
    if org is None or org.kind not in CHILD_KIND or not perms.has_org_perm(actor, perms.TREE_MANAGE, org):
        raise PermissionDenied(_("您无权在该党组织下新增组织"))
    return org


def _open_in_tree_scope(actor: User) -> QuerySet[Organization]:
    """Open nodes below a node where `actor` may adjust the tree."""
    return Organization.objects.filter(
        closed_on__isnull=True, parent__in=perms.orgs_with_perm(actor, perms.TREE_MANAGE)
    )


def tree_move_targets(*, actor: User, org: Organization) -> QuerySet[Organization]:
    """The open nodes `org` may be moved under: of the kind that holds it, within the actor's scope."""
    kinds = [parent for parent, child in CHILD_KIND.items() if child == org.kind]
    return (
        perms.orgs_with_perm(actor, perms.TREE_MANAGE)
        .filter(kind__in=kinds, closed_on__isnull=True)
        .exclude(pk=org.parent_id)
        .exclude(path__startswith=org.path)
    )


def tree_merge_targets(*, actor: User, org: Organization) -> QuerySet[Organization]:
    """The open branches `org` may be merged into."""
    if not org.is_branch:
        return Organization.objects.none()
    return _open_in_tree_scope(actor).filter(kind=Organization.Kind.BRANCH).exclude(pk=org.pk)


def branch_get(*, actor: User, branch_id: int, perm: str = perms.ROSTER_VIEW) -> Organization:
    branch = Organization.objects.filter(pk=branch_id).first()
    if branch is None or not perms.has_org_perm(actor, perm, branch):
        raise PermissionDenied(_("您无权查看该党组织"))
    return branch


def member_list(
    *,
    actor: User,
    organization: Organization,
    query: str = "",
    category: str = "",
    status: str = "",
    cadre: str = "",
    include_left: bool = False,
) -> QuerySet[Member]:
    """Members of `organization` and everything below it, filtered; one query however many rows."""
    if not perms.has_org_perm(actor, perms.ROSTER_VIEW, organization):
        raise PermissionDenied(_("您无权查看该党组织的名册"))
    members = Member.objects.filter(branch__path__startswith=organization.path).select_related("branch")
    if not include_left:
        members = members.filter(left_on__isnull=True)
    if query:
        members = members.filter(Q(name__icontains=query) | Q(number__icontains=query))
    if category:
        members = members.filter(category=category)
    if status:
        members = members.filter(status=status)
    if cadre in ("1", "0"):
        members = members.filter(is_cadre=cadre == "1")
    return members.order_by("branch__path", "number")


def roster_rows(members: QuerySet[Member]) -> list[dict]:
    """What the roster page shows of `members` (a page of `member_list`), as plain values with the
    category's and status's labels: a page read as Member instances with their branches cost two to
    four times the CPU (most of a member's fields are dates the page never shows)."""
    categories, statuses = choice_labels(Member, "category"), choice_labels(Member, "status")
    rows = list(
        members.values(
            "pk", "number", "name", "exempt", "is_cadre", "category", "status", branch_name=F("branch__name")
        )
    )
    for row in rows:
        row["category_label"] = categories.get(row["category"], row["category"])
        row["status_label"] = statuses.get(row["status"], row["status"])
    return rows


def member_get(*, actor: User, member_id: int) -> Member:
    member = (
        Member.objects.select_related("branch__parent", "user", "exemption_approved_by").filter(pk=member_id).first()
    )
    if member is None or not perms.can_view_member(actor, member):
        raise PermissionDenied(_("您无权查看该党员"))
    return member


def member_transfers(*, member: Member) -> QuerySet[MemberTransfer]:
    return member.transfers.select_related("from_branch", "to_branch", "recorded_by")


def member_status_events(*, member: Member) -> QuerySet[MemberStatusEvent]:
    """The member's status history (转正, 延长预备期, 出党…), newest first."""
    return member.status_events.select_related("recorded_by")


def status_kinds_for(*, member: Member) -> list[tuple[str, str]]:
    """The status changes that may be recorded for `member` now, as form choices."""
    from .models import MemberStatusEvent

    probationary = member.status == Member.Status.PROBATIONARY
    return [
        (value, label)
        for value, label in MemberStatusEvent.Kind.choices
        if probationary or value not in MemberStatusEvent.PROBATION_ONLY
    ]


def roles_of(*, user: User) -> QuerySet[RoleAssignment]:
    """The user's active role assignments, for the home page and the header."""
    return RoleAssignment.objects.active_on().filter(user=user).select_related("organization")


_ROLE_ORDER = Case(*[When(role=role, then=Value(i)) for i, role in enumerate(Role)], output_field=IntegerField())


def role_assignments(*, actor: User, organization: Organization) -> QuerySet[RoleAssignment]:
    """Every appointment ever made at `organization`: those not revoked first, then the revoked, newest first."""
    if not perms.has_org_perm(actor, perms.ROSTER_VIEW, organization):
        raise PermissionDenied(_("您无权查看该党组织"))
    return (
        RoleAssignment.objects.filter(organization=organization)
        .select_related("user", "assigned_by")
        .order_by(F("revoked_at").desc(nulls_first=True), _ROLE_ORDER, "-starts_on", "-pk")
    )


def pending_exemptions(*, actor: User) -> QuerySet[Member]:
    """Requested exemptions awaiting the committee's approval, within the actor's scope."""
    orgs = perms.orgs_with_perm(actor, perms.EXEMPTION_APPROVE)
    return Member.objects.filter(branch__in=orgs, exempt=False).exclude(exemption_reason="").select_related("branch")


def audit_events(*, actor: User, action: str = "", target_type: str = "", target_id: str = "") -> QuerySet[AuditEvent]:
    """The audit log, for those who may read it (the organization department)."""
    orgs = perms.orgs_with_perm(actor, perms.AUDIT_VIEW)
    if not orgs.exists():
        raise PermissionDenied(_("您无权查看审计记录"))
    events = AuditEvent.objects.select_related("actor", "organization")
    if not actor.is_superuser and not orgs.filter(kind=Organization.Kind.COMMITTEE).exists():
        events = events.filter(organization__in=orgs)
    if action:
        events = events.filter(action__startswith=action)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    return events


def users_with_perm(*, organization: Organization, perm: str) -> QuerySet[User]:
    """Everyone who may do `perm` at `organization` through an active role there or above."""
    roles = [role for role, granted in perms.ROLE_PERMISSIONS.items() if perm in granted]
    active = RoleAssignment.objects.active_on().filter(
        organization__path__in=organization.ancestor_paths(), role__in=roles
    )
    return User.objects.filter(pk__in=active.values("user_id"), is_active=True)


def general_branch_secretaries(*, branch: Organization) -> QuerySet[User]:
    """The secretaries of the general branch (college) directly above `branch`, in office today."""
    if branch.parent_id is None:
        return User.objects.none()
    active = RoleAssignment.objects.active_on().filter(
        organization_id=branch.parent_id, role=Role.GENERAL_BRANCH_SECRETARY
    )
    return User.objects.filter(pk__in=active.values("user_id"), is_active=True)


def mass_representatives_below(*, actor: User, organization: Organization) -> QuerySet[RoleAssignment]:
    """Active mass representative appointments in the branches under `organization`, for the general
    branch's roles page: who was appointed where, by whom, when."""
    if not perms.has_org_perm(actor, perms.ROSTER_VIEW, organization) or organization.kind == Organization.Kind.BRANCH:
        return RoleAssignment.objects.none()
    return (
        RoleAssignment.objects.active_on()
        .filter(
            organization__path__startswith=organization.path,
            organization__kind=Organization.Kind.BRANCH,
            role=Role.MASS_REPRESENTATIVE,
        )
        .select_related("organization", "user", "assigned_by")
        .order_by("organization__path", "-created_at")
    )


HELPER_ROLES = {
    Organization.Kind.BRANCH: Role.BRANCH_SECRETARY,
    Organization.Kind.GENERAL_BRANCH: Role.GENERAL_BRANCH_SECRETARY,
    Organization.Kind.COMMITTEE: Role.ORG_DEPARTMENT,
}


def who_can_help(*, user: User | AnonymousUser, roles: Iterable[RoleAssignment] | None = None) -> list[dict[str, Any]]:
    """Whom to ask about access, nearest first: the secretary of the user's own branch, then its
    general branch, then the organization department; by name. The user's own organization is their
    branch, else where their first role is held, else the committee. Three or four queries."""
    member = getattr(user, "member", None) if user.is_authenticated else None
    if member is not None:
        org = member.branch
    else:
        held = list(roles) if roles is not None else (list(roles_of(user=user)) if user.is_authenticated else [])
        org = held[0].organization if held else Organization.objects.filter(parent__isnull=True).first()
    if org is None:
        return []
    chain = list(Organization.objects.filter(path__in=org.ancestor_paths()).order_by("-depth"))[:2]
    kinds = {o.pk: o.kind for o in chain}
    holders = {}
    for assignment in (
        RoleAssignment.objects.active_on()
        .filter(organization__in=chain, role__in=HELPER_ROLES.values())
        .exclude(user=user)
        .select_related("user")
        .order_by("user__username")
    ):
        if HELPER_ROLES[kinds[assignment.organization_id]] == assignment.role:
            holders.setdefault(assignment.organization_id, []).append(assignment.user.get_full_name())
    return [{"org": o, "role": Role(HELPER_ROLES[o.kind]).label, "names": holders.get(o.pk, [])} for o in chain]


def two_factor_overview(*, actor: User) -> list[dict[str, Any]]:
    """Per role: whether the second factor is required (by the committee, or by the deployment's
    TWO_FACTOR_REQUIRED_ROLES), how many accounts hold it now, and how many of them have enrolled."""
    from django.conf import settings

    from .models import TwoFactorRequirement

    if not perms.is_committee_officer(actor):
        raise PermissionDenied(_("只有党委组织部可以设置两步验证要求"))
    counts = {
        row["role"]: row
        for row in (
            RoleAssignment.objects.active_on()
            .values("role")
            .annotate(
                holders=Count("user", distinct=True),
                enrolled=Count("user", distinct=True, filter=Q(user__totpdevice__confirmed=True)),
            )
        )
    }
    committee = set(TwoFactorRequirement.objects.values_list("role", flat=True))
    return [
        {
            "role": role,
            "label": role.label,
            "required": role.value in committee,
            "by_deployment": role.value in settings.TWO_FACTOR_REQUIRED_ROLES
            or (settings.TWO_FACTOR_REQUIRED and role.value in settings.TWO_FACTOR_ROLES),
            "holders": counts.get(role.value, {}).get("holders", 0),
            "enrolled": counts.get(role.value, {}).get("enrolled", 0),
        }
        for role in Role
    ]


def role_assignment_at(*, organization: Organization, assignment_id: int | str | None) -> RoleAssignment:
    """An assignment held at `organization` (a forged id of another node is a 404)."""
    from django.http import Http404

    text = str(assignment_id or "")
    found = (
        RoleAssignment.objects.filter(organization=organization, pk=text).select_related("user").first()
        if text.isdigit()
        else None
    )
    if found is None:
        raise Http404
    return found


def may_view_access_log(user: User) -> bool:
    """Only the committee's organization department (the audit permission held at the committee)."""
    return perms.is_committee_officer(user)


def access_log_entries(
    *, actor: User, kind: str = "", username: str = "", day_from: date | None = None, day_to: date | None = None
) -> QuerySet[AccessLog]:
    """The security log, newest first, filtered; refused to anyone but the organization department."""
    if not may_view_access_log(actor):
        raise PermissionDenied(_("只有党委组织部可以查看安全日志"))
    entries = AccessLog.objects.select_related("user")
    if kind:
        entries = entries.filter(kind=kind)
    if username:
        entries = entries.filter(username=username)
    # Whole local days, as a range on the indexed timestamp.
    if day_from:
        entries = entries.filter(created_at__gte=_start_of(day_from))
    if day_to:
        entries = entries.filter(created_at__lt=_start_of(day_to + timedelta(days=1)))
    return entries


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
