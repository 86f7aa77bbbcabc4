"""Every write to organizations, members, accounts and roles. Each is atomic and audited."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError
from partyscore.core.queue import enqueue
from partyscore.core.transitions import transition

from . import campus_login, two_factor
from . import permissions as perms
from .models import (
    CHILD_KIND,
    ApiToken,
    Member,
    MemberStatusEvent,
    MemberTransfer,
    Organization,
    PasswordLoginPolicy,
    Role,
    RoleAssignment,
    TwoFactorRequirement,
    User,
)
from .signals import role_assigned

if TYPE_CHECKING:
    from collections.abc import Iterable

MEMBER_AUDIT_FIELDS = [
    "number",
    "name",
    "category",
    "status",
    "probation_start",
    "is_cadre",
    "branch",
    "joined_party_on",
    "joined_branch_on",
    "left_on",
    "exempt",
    "exemption_reason",
    "phone",
    "email",
    "user",
    "cadre_post",
    "full_member_on",
]


def _member_snapshot(member: Member) -> dict[str, Any]:
    return model_to_dict(member, fields=MEMBER_AUDIT_FIELDS)


def _require(actor: User, perm: str, org: Organization) -> None:
    if not perms.has_org_perm(actor, perm, org):
        raise PermissionDenied(_("您无权对“%(org)s”执行此操作") % {"org": org})


ORGANIZATION_AUDIT_FIELDS = ["name", "code", "kind", "parent", "category", "path", "depth", "closed_on"]


def organization_snapshot(org: Organization) -> dict[str, Any]:
    return model_to_dict(org, fields=ORGANIZATION_AUDIT_FIELDS)


def refuse_name_taken(*, parent: Organization | None, name: str, exclude: Organization | None = None) -> None:
    """The constraint org_unique_name_under_parent, said in words before the database says it."""
    taken = Organization.objects.filter(parent=parent, name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise ApplicationError(_("“%(parent)s”下已有名为“%(name)s”的组织") % {"parent": parent, "name": name})


def refuse_closed(org: Organization, day: datetime.date | None = None) -> None:
    """A node closed (撤销) on or before `day` (today) takes nothing new."""
    day = day or timezone.localdate()
    if org.is_closed_on(day):
        raise ApplicationError(_("“%(org)s”已于 %(date)s 撤销") % {"org": org, "date": org.closed_on})


@transaction.atomic
def organization_create(
    *,
    actor: User | None,
    name: str,
    code: str,
    kind: str,
    parent: Organization | None = None,
    category: str = Organization.Category.MIXED,
    reason: str = "",
) -> Organization:
    """Add a node to the tree. The system administrator builds the root (the committee); below it,
    whoever may adjust the tree at the parent (perms.TREE_MANAGE) adds a node of the kind it holds:
    the organization department a general branch, a general branch's secretary a branch."""
    name, code = (name or "").strip(), (code or "").strip()
    if actor is not None and not actor.is_superuser:
        if parent is None or not perms.has_org_perm(actor, perms.TREE_MANAGE, parent):
            raise PermissionDenied(_("您无权调整该处的组织架构"))
        if kind != CHILD_KIND.get(parent.kind):
            raise ApplicationError(
                _("“%(parent)s”下不能设立%(kind)s") % {"parent": parent, "kind": Organization.Kind(kind).label}
            )
        if not (reason or "").strip():
            raise ApplicationError(_("请写明原因"))
    if parent is not None:
        refuse_closed(parent)
        refuse_name_taken(parent=parent, name=name)
    if Organization.objects.filter(code=code).exists():
        raise ApplicationError(_("组织代码“%(code)s”已被使用") % {"code": code})
    org = Organization(name=name, code=code, kind=kind, parent=parent, category=category, path="pending/")
    org.full_clean()
    org.save()
    org.path = (parent.path if parent else "") + f"{org.pk:06d}/"
    org.depth = parent.depth + 1 if parent else 0
    org.save(update_fields=["path", "depth"])
    audit_record(
        actor=actor,
        action="organization.create",
        target=org,
        organization=org,
        after=model_to_dict(org, fields=["name", "code", "kind", "parent", "category"]),
        reason=reason,
    )
    return org


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    full_name: str,
    password: str | None = None,
    password_hash: str | None = None,
    must_change_password: bool = True,
    email: str = "",
) -> User:
    """Create a login account with `password`, or with `password_hash` (made by make_password) when the
    password itself is no longer at hand (the roster import keeps only the hash between its steps)."""
    if User.objects.filter(username=username).exists():
        raise ApplicationError(_("账号“%(username)s”已存在") % {"username": username})
    user = User(username=username, full_name=full_name, email=email, must_change_password=must_change_password)
    if password_hash:
        user.password = password_hash
    else:
        user.set_password(password)
    user.save()
    audit_record(
        actor=actor,
        action="user.create",
        target=user,
        after={"username": username, "full_name": full_name, "must_change_password": must_change_password},
    )
    return user


@transaction.atomic
def user_password_changed(*, user: User) -> None:
    """Record a password change made through the change-password form."""
    if user.must_change_password:
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
    audit_record(actor=user, action="user.password_change", target=user)


@transaction.atomic
def user_password_reset(*, user: User) -> None:
    """Record a password set through the e-mailed reset link (the user chose it, so it is not an
    initial password to change)."""
    if user.must_change_password:
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
    audit_record(actor=user, action="user.password_reset", target=user)


ONE_TIME_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # no 0/O, 1/l/I to misread


def one_time_password() -> str:
    """A password to hand over once (read aloud, written on paper): 10 characters of capitals, small
    letters and digits, which the complexity rule accepts; the account must change it at first login."""
    while True:
        password = "".join(secrets.choice(ONE_TIME_ALPHABET) for _n in range(10))
        if (
            any(c.isupper() for c in password)
            and any(c.islower() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def _may_manage_account(actor: User, user: User) -> bool:
    """The account's manager: for a member, whoever manages the roster of the member's branch; for
    anyone else (a mass representative who is not a party member), whoever may appoint one of the
    roles the account holds."""
    member = Member.objects.filter(user=user).select_related("branch").first()
    if member is not None:
        return perms.has_org_perm(actor, perms.ROSTER_MANAGE, member.branch)
    held = RoleAssignment.objects.filter(user=user, revoked_at__isnull=True).select_related("organization")
    return any(perms.may_appoint(actor, a.organization, a.role) for a in held)


@transaction.atomic
def user_password_reset_by_manager(*, actor: User | None, user: User, reason: str) -> str:
    """A forgotten password without an e-mail on file: the account's manager sets a one-time password,
    shown once to them and kept only as a hash; the account must change it at the next login, and
    every session it has ends (the stored hash changed)."""
    if actor is None or not (actor.is_superuser or _may_manage_account(actor, user)):
        raise PermissionDenied(_("您无权重置该账号的密码"))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请写明重置原因"))
    password = one_time_password()
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    audit_record(actor=actor, action="user.password_reset_by_manager", target=user, reason=reason)
    return password


@transaction.atomic
def role_assign_new_account(
    *,
    actor: User,
    username: str,
    full_name: str,
    email: str = "",
    organization: Organization,
    role: str,
    starts_on: datetime.date,
    ends_on: datetime.date | None = None,
    reason: str = "",
) -> tuple[RoleAssignment, str]:
    """Appoint someone who has no account yet (a mass representative who is not a party member, the
    first organization-department staff): open the account with a one-time password and appoint it,
    in one step. An account closed earlier under that username is opened again. Returns
    (assignment, password); the password is shown once and kept only as a hash."""
    role = Role(role)
    if not perms.may_appoint(actor, organization, role):
        raise PermissionDenied(_("您无权在“%(org)s”任命“%(role)s”") % {"org": organization, "role": role.label})
    username, full_name = (username or "").strip(), (full_name or "").strip()
    if not username or not full_name:
        raise ApplicationError(_("开立账号须填写学号/工号（或账号）和姓名"))
    password = one_time_password()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(actor=actor, username=username, full_name=full_name, password=password, email=email)
    elif user.is_active:
        raise ApplicationError(_("账号“%(username)s”已存在") % {"username": username})
    else:
        user.is_active, user.full_name, user.must_change_password = True, full_name, True
        user.set_password(password)
        user.save(update_fields=["is_active", "full_name", "must_change_password", "password"])
        audit_record(
            actor=actor,
            action="user.reopen",
            target=user,
            reason=reason,
            after={"username": username, "full_name": full_name},
        )
    assignment = role_assign(
        actor=actor,
        user=user,
        organization=organization,
        role=role,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
    )
    return assignment, password


@transaction.atomic
def member_create(
    *, actor: User, member: Member, account_password: str | None = None, account_password_hash: str | None = None
) -> Member:
    """Save a new member (built by a form or an import row), optionally with a login account.

    An account created for a member must change the initial password at first login.
    """
    _require(actor, perms.ROSTER_MANAGE, member.branch)
    if not member.branch.is_branch:
        raise ApplicationError(_("党员只能属于党支部"))
    refuse_closed(member.branch)
    member.full_clean()
    if account_password or account_password_hash:
        member.user = user_create(
            actor=actor,
            username=member.number,
            full_name=member.name,
            password=account_password,
            password_hash=account_password_hash,
            email=member.email,
        )
    member.save()
    audit_record(
        actor=actor, action="member.create", target=member, organization=member.branch, after=_member_snapshot(member)
    )
    return member


@transaction.atomic
def member_update(*, actor: User, member: Member, data: dict[str, Any], reason: str = "") -> Member:
    """Change a member's own fields (not the branch: a move is a transfer, with its history)."""
    _require(actor, perms.ROSTER_MANAGE, member.branch)
    before = _member_snapshot(member)
    allowed = {
        "name",
        "category",
        "status",
        "probation_start",
        "is_cadre",
        "joined_party_on",
        "left_on",
        "phone",
        "email",
    }
    unknown = set(data) - allowed
    if unknown:
        raise ApplicationError(_("不能在此修改：%(fields)s") % {"fields": "、".join(sorted(unknown))})
    for field, value in data.items():
        setattr(member, field, value)
    member.full_clean()
    member.save()
    audit_record(
        actor=actor,
        action="member.update",
        target=member,
        organization=member.branch,
        before=before,
        after=_member_snapshot(member),
        reason=reason,
    )
    return member


# What the member page's edit form may change (status and dates change by dated events instead).
MEMBER_EDITABLE = ("name", "number", "phone", "email", "category", "is_cadre", "cadre_post", "party_group")


@transaction.atomic
def member_edit(*, actor: User, member: Member, data: dict[str, Any], reason: str) -> Member:
    """Correct a member's record from the member page, with the reason; audited field by field.

    A new staff/student number must be free; the login account named after the old number follows."""
    _require(actor, perms.ROSTER_MANAGE, member.branch)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请写明修改原因"))
    unknown = set(data) - set(MEMBER_EDITABLE)
    if unknown:
        raise ApplicationError(_("不能在此修改：%(fields)s") % {"fields": "、".join(sorted(unknown))})
    member = Member.objects.select_for_update(of=("self",)).select_related("user").get(pk=member.pk)
    data = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
    if "is_cadre" in data and not data["is_cadre"]:
        data["cadre_post"] = ""
    changed = {k: v for k, v in data.items() if getattr(member, k) != v}
    if not changed:
        raise ApplicationError(_("没有需要保存的修改"))
    number = changed.get("number")
    if number is not None:
        holder = Member.objects.filter(number=number).exclude(pk=member.pk).first()
        if holder is not None:
            if perms.can_view_member(actor, holder):  # named only to whoever may see that member anyway
                raise ApplicationError(
                    _("学号/工号“%(number)s”已被%(name)s（%(branch)s）使用，不能重复")
                    % {"number": number, "name": holder.name, "branch": holder.branch}
                )
            raise ApplicationError(_("学号/工号“%(number)s”已被其他党员使用，不能重复") % {"number": number})
        user = member.user
        if user is not None and user.username == member.number:
            if User.objects.filter(username=number).exclude(pk=user.pk).exists():
                raise ApplicationError(_("账号“%(username)s”已存在") % {"username": number})
            user.username = number
            user.save(update_fields=["username"])
    before = {k: getattr(member, k) for k in changed}
    for field, value in changed.items():
        setattr(member, field, value)
    member.full_clean()
    member.save()
    if "name" in changed and member.user is not None:
        member.user.full_name = member.name
        member.user.save(update_fields=["full_name"])
    audit_record(
        actor=actor,
        action="member.edit",
        target=member,
        organization=member.branch,
        before=before,
        after=changed,
        reason=reason,
    )
    if {"category", "is_cadre"} & set(changed):  # the scheme in force and the cadre rules read these
        _recalculate_later(member, timezone.localdate().year, timezone.localdate().year)
    return member


def _recalculate_later(member: Member, first_year: int, last_year: int) -> None:
    """After the commit, recompute the member's branch for the years a change touches.

    By task name: scoring sits above members and is not imported here. If the broker is away the
    nightly recalculation catches up (partyscore.core.queue.enqueue)."""
    recalculate_branch_later(member.branch_id, first_year, last_year)


def recalculate_branch_later(branch_id: int, first_year: int, last_year: int) -> None:
    """After the commit, recompute a branch's totals for `first_year` to `last_year` (by task name:
    scoring sits above members and is not imported here)."""
    for year in range(first_year, last_year + 1):
        enqueue("scoring.tasks.recalculate_branch_task", branch_id, year)


STATUS_EVENT_REFUSALS = {
    "probation_only": gettext_lazy("只有预备党员才能记录“%(kind)s”"),
    "left": gettext_lazy("该党员已于 %(date)s 离开党组织，不能再记录身份变化"),
}


@transaction.atomic
def member_status_record(
    *,
    actor: User,
    member: Member,
    kind: str,
    occurred_on: datetime.date | None,
    reason: str,
    until: datetime.date | None = None,
) -> MemberStatusEvent:
    """Record a dated, reasoned status change (转正, 延长预备期, 出党, 转出, 毕业…) and apply it.

    转正 makes the member a full member from its date (probationary rules apply to the years before);
    the leaving kinds set `left_on`, after which the leave rules of scoring apply."""
    _require(actor, perms.ROSTER_MANAGE, member.branch)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if kind not in MemberStatusEvent.Kind.values:
        raise ApplicationError(_("请选择身份变化"))
    label = MemberStatusEvent.Kind(kind).label
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请写明原因及依据"))
    if occurred_on is None:
        raise ApplicationError(_("请填写日期"))
    today = timezone.localdate()
    if occurred_on > today:
        raise ApplicationError(_("日期不能晚于今天"))
    if member.left_on is not None:
        raise ApplicationError(STATUS_EVENT_REFUSALS["left"] % {"date": member.left_on})
    if kind in MemberStatusEvent.PROBATION_ONLY and member.status != Member.Status.PROBATIONARY:
        raise ApplicationError(STATUS_EVENT_REFUSALS["probation_only"] % {"kind": label})
    if member.probation_start and kind in MemberStatusEvent.PROBATION_ONLY and occurred_on < member.probation_start:
        raise ApplicationError(_("日期不能早于预备期开始日期（%(date)s）") % {"date": member.probation_start})
    if kind == MemberStatusEvent.Kind.PROBATION_EXTENDED and (until is None or until <= occurred_on):
        raise ApplicationError(_("延长预备期须填写延长至的日期，且晚于记录日期"))
    if kind != MemberStatusEvent.Kind.PROBATION_EXTENDED:
        until = None
    before = _member_snapshot(member)
    event = MemberStatusEvent.objects.create(
        member=member, kind=kind, occurred_on=occurred_on, until=until, reason=reason, recorded_by=actor
    )
    if kind == MemberStatusEvent.Kind.FULL_MEMBERSHIP:
        transition(member, "full_membership")
        member.full_member_on = occurred_on
    elif kind in MemberStatusEvent.LEAVING:
        member.left_on = occurred_on
    member.save()
    audit_record(
        actor=actor,
        action=f"member.status.{kind}",
        target=member,
        organization=member.branch,
        before={k: before[k] for k in ("status", "full_member_on", "left_on")},
        after={
            "event": event.pk,
            "kind": kind,
            "occurred_on": occurred_on,
            "until": until,
            "status": member.status,
            "full_member_on": member.full_member_on,
            "left_on": member.left_on,
        },
        reason=reason,
    )
    _recalculate_later(member, occurred_on.year, today.year)
    return event


@transaction.atomic
def member_transfer(
    *, actor: User, member: Member, to_branch: Organization, transferred_on: datetime.date, reason: str = ""
) -> Member:
    """Move a member to another branch. The actor must manage both branches' rosters."""
    _require(actor, perms.ROSTER_MANAGE, member.branch)
    _require(actor, perms.ROSTER_MANAGE, to_branch)
    return member_move(actor=actor, member=member, to_branch=to_branch, transferred_on=transferred_on, reason=reason)


def member_move(
    *, actor: User, member: Member, to_branch: Organization, transferred_on: datetime.date, reason: str
) -> Member:
    """The move itself, for a caller that has checked the actor's scope (a transfer, a merge of
    branches): the MemberTransfer row of the member's history, the new branch, the audit event."""
    if not to_branch.is_branch:
        raise ApplicationError(_("只能转入党支部"))
    if to_branch.pk == member.branch_id:
        raise ApplicationError(_("该党员已在此支部"))
    refuse_closed(to_branch, transferred_on)
    from_branch = member.branch
    MemberTransfer.objects.create(
        member=member,
        from_branch=from_branch,
        to_branch=to_branch,
        transferred_on=transferred_on,
        reason=reason,
        recorded_by=actor,
    )
    member.branch = to_branch
    member.joined_branch_on = transferred_on
    member.save(update_fields=["branch", "joined_branch_on", "updated_at"])
    audit_record(
        actor=actor,
        action="member.transfer",
        target=member,
        organization=to_branch,
        before={"branch": from_branch.pk},
        after={"branch": to_branch.pk},
        reason=reason,
    )
    return member


@transaction.atomic
def member_exemption_request(*, actor: User, member: Member, reason: str) -> Member:
    """The branch committee decides a member cannot take part (old age, illness): seed 003.

    The exemption takes effect only when the committee (organization department) approves it.
    """
    _require(actor, perms.ROSTER_MANAGE, member.branch)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请填写免于记分的原因"))
    if member.exempt:
        raise ApplicationError(_("该党员已免于记分"))
    before = _member_snapshot(member)
    member.exemption_reason = reason
    member.save(update_fields=["exemption_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="member.exemption_request",
        target=member,
        organization=member.branch,
        before=before,
        after=_member_snapshot(member),
        reason=reason,
    )
    return member


@transaction.atomic
def member_exemption_decide(*, actor: User, member: Member, approve: bool, reason: str = "") -> Member:
    """The committee approves or declines a requested exemption."""
    _require(actor, perms.EXEMPTION_APPROVE, member.branch)
    if member.exempt or not member.exemption_reason:
        raise ApplicationError(_("该党员没有待审批的免于记分申请"))
    if not approve and not reason.strip():
        raise ApplicationError(_("不予批准时请填写理由"))
    before = _member_snapshot(member)
    if approve:
        member.exempt = True
        member.exemption_approved_by = actor
        member.exemption_approved_at = timezone.now()
    else:
        member.exemption_reason = ""
    member.save()
    audit_record(
        actor=actor,
        action="member.exemption_approve" if approve else "member.exemption_decline",
        target=member,
        organization=member.branch,
        before=before,
        after=_member_snapshot(member),
        reason=reason,
    )
    return member


@transaction.atomic
def role_assign(
    *,
    actor: User,
    user: User,
    organization: Organization,
    role: str,
    starts_on: datetime.date,
    ends_on: datetime.date | None = None,
    reason: str = "",
) -> RoleAssignment:
    """Give `user` a role at `organization` for a term: its permissions follow from the term itself."""
    role = Role(role)
    if organization.kind != perms.ROLE_ORG_KIND[role]:
        kind = Organization.Kind(perms.ROLE_ORG_KIND[role]).label
        raise ApplicationError(_("“%(role)s”只能在%(kind)s任命") % {"role": role.label, "kind": kind})
    if not perms.may_appoint(actor, organization, role):
        raise PermissionDenied(_("您无权在“%(org)s”任命“%(role)s”") % {"org": organization, "role": role.label})
    refuse_closed(organization, starts_on)
    if RoleAssignment.objects.filter(user=user, organization=organization, role=role, revoked_at__isnull=True).exists():
        raise ApplicationError(
            _("%(user)s 已是“%(org)s”的%(role)s") % {"user": user, "org": organization, "role": role.label}
        )
    _refuse_mass_conflict(actor=actor, user=user, organization=organization, role=role)
    assignment = RoleAssignment(
        user=user, organization=organization, role=role, starts_on=starts_on, ends_on=ends_on, assigned_by=actor
    )
    assignment.full_clean()
    assignment.save()
    perms.forget_cached_perms(user)
    audit_record(
        actor=actor,
        action="role.assign",
        target=assignment,
        organization=organization,
        after={"user": user.pk, "role": role.value, "starts_on": starts_on, "ends_on": ends_on},
        reason=reason,
    )
    role_assigned.send(sender=RoleAssignment, assignment=assignment, actor=actor)
    return assignment


# Those who run, score or see the branch's mass results are never its mass representatives, nor
# the other way round: a representative's answer is only anonymous among answers nobody controls.
MASS_CONFLICTING_ROLES = {Role.BRANCH_SECRETARY, Role.BRANCH_COMMITTEE, Role.PANEL_MEMBER}


def _refuse_mass_conflict(*, actor: User | None, user: User, organization: Organization, role: Role) -> None:
    if role == Role.MASS_REPRESENTATIVE:
        conflicting = MASS_CONFLICTING_ROLES
    elif role in MASS_CONFLICTING_ROLES:
        conflicting = {Role.MASS_REPRESENTATIVE}
    else:
        return
    held = (
        RoleAssignment.objects.active_on()
        .filter(user=user, organization=organization, role__in=conflicting)
        .values_list("role", flat=True)
        .first()
    )
    if held is not None:
        raise ApplicationError(
            _("%(user)s 已是“%(org)s”的%(held)s，不能同时担任%(role)s")
            % {"user": user, "org": organization, "held": Role(held).label, "role": role.label}
        )
    if role != Role.MASS_REPRESENTATIVE:
        return
    if actor is not None and actor.pk == user.pk:
        raise ApplicationError(_("不能任命自己为群众代表"))
    # Accounts are opened only for members of a branch, by its secretary: a member (past or present)
    # of this branch is never its mass representative, so no account the secretary opened can be one.
    if (
        Member.objects.filter(user=user, branch=organization).exists()
        or MemberTransfer.objects.filter(member__user=user, from_branch=organization).exists()
    ):
        raise ApplicationError(_("%(user)s 是本支部党员，不能担任本支部的群众代表") % {"user": user})


@transaction.atomic
def role_revoke(*, actor: User, assignment: RoleAssignment, reason: str) -> RoleAssignment:
    if not perms.may_appoint(actor, assignment.organization, assignment.role):
        raise PermissionDenied(_("您无权撤销此任命"))
    if assignment.revoked_at is not None:
        raise ApplicationError(_("该任命已撤销"))
    return role_assignment_end(actor=actor, assignment=assignment, reason=reason)


def role_assignment_end(*, actor: User, assignment: RoleAssignment, reason: str) -> RoleAssignment:
    """End a term now, audited; the caller has checked the actor may (a revocation, or the closing of
    the node the role is held at)."""
    assignment.revoked_at = timezone.now()
    assignment.save(update_fields=["revoked_at"])
    perms.forget_cached_perms(assignment.user)
    audit_record(
        actor=actor, action="role.revoke", target=assignment, organization=assignment.organization, reason=reason
    )
    _close_if_idle(actor=actor, user=assignment.user, reason=reason)
    return assignment


def _close_if_idle(*, actor: User, user: User, reason: str) -> None:
    """An account with no member record and no role left (a mass representative whose term was
    revoked) has nothing to do here: it is closed (deactivated, kept for the record) and can be
    opened again by appointing it."""
    if user.is_staff or user.is_superuser or Member.objects.filter(user=user).exists():
        return
    if RoleAssignment.objects.not_over_on(timezone.localdate()).filter(user=user).exists():
        return
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(actor=actor, action="user.close", target=user, reason=reason)


def roster_exported(*, actor: User, organization: Organization) -> None:
    """Exports leave a trace too: who took which roster out, and when."""
    audit_record(actor=actor, action="roster.export", target=organization, organization=organization)


@transaction.atomic
def user_email_notifications_set(*, user: User, enabled: bool) -> User:
    """Each person decides whether notices also come by e-mail."""
    user.email_notifications = bool(enabled)
    user.save(update_fields=["email_notifications"])
    audit_record(
        actor=user,
        action="user.email_notifications",
        target=user,
        after={"email_notifications": user.email_notifications},
    )
    return user


# Lazy: a module constant translated at import would stay in the language of whoever imported it first.
TWO_FACTOR_WRONG_CODE = gettext_lazy("验证码不正确或已过期；多次输错后须稍等片刻再试")


@transaction.atomic
def two_factor_enable(*, user: User, key: str | None, token: str) -> TOTPDevice:
    """Turn on the second factor: the code the phone shows proves the secret reached it."""
    if not two_factor.offered_to(user):
        raise PermissionDenied(_("您的账号不提供两步验证"))
    if two_factor.device_of(user) is not None:
        raise ApplicationError(_("两步验证已启用"))
    device = two_factor.new_device(user, key)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if not token.isdigit() or not totp.verify(int(token), device.tolerance):
        raise ApplicationError(TWO_FACTOR_WRONG_CODE)
    device.last_t = totp.t()  # the code just typed cannot be replayed to log in
    device.save()
    audit_record(actor=user, action="user.two_factor_enable", target=user)
    return device


def two_factor_disable(*, user: User, token: str) -> None:
    """Turn off the second factor; a current code is required, so a borrowed session cannot."""
    device = two_factor.device_of(user)
    if device is None:
        raise ApplicationError(_("两步验证未启用"))
    if two_factor.required_of(user):
        raise ApplicationError(_("您的账号必须使用两步验证，不能关闭"))
    # Checked outside the transaction: a wrong code's throttling delay must be kept, not rolled back.
    if not device.verify_token(token):
        raise ApplicationError(TWO_FACTOR_WRONG_CODE)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        audit_record(actor=user, action="user.two_factor_disable", target=user)


@transaction.atomic
def two_factor_requirement_set(*, actor: User, roles: Iterable[str], reason: str) -> None:
    """The committee requires the second factor of the holders of `roles`, and of no other role
    beyond the deployment's own list. Applies to each account from its next login."""
    if not perms.is_committee_officer(actor):
        raise PermissionDenied(_("只有党委组织部可以设置两步验证要求"))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请写明调整原因"))
    try:
        wanted = {Role(role).value for role in roles}
    except ValueError:
        raise ApplicationError(_("没有这个角色")) from None
    before = set(TwoFactorRequirement.objects.select_for_update().values_list("role", flat=True))
    if wanted == before:
        raise ApplicationError(_("没有需要保存的修改"))
    TwoFactorRequirement.objects.exclude(role__in=wanted).delete()
    TwoFactorRequirement.objects.bulk_create(
        [TwoFactorRequirement(role=role, set_by=actor) for role in sorted(wanted - before)]
    )
    audit_record(
        actor=actor,
        action="security.two_factor_roles",
        target=None,
        organization=Organization.objects.filter(kind=Organization.Kind.COMMITTEE).first(),
        before={"roles": sorted(before)},
        after={"roles": sorted(wanted)},
        reason=reason,
    )


@transaction.atomic
def two_factor_reset(*, actor: User | None, user: User, reason: str) -> None:
    """A lost phone: the system administrator removes the device so the user can log in and enrol again."""
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied(_("只有系统管理员可以重置两步验证"))
    if not reason:
        raise ApplicationError(_("重置两步验证须写明理由"))
    deleted, _rows = TOTPDevice.objects.filter(user=user).delete()
    if not deleted:
        raise ApplicationError(_("该账号未启用两步验证"))
    audit_record(actor=actor, action="user.two_factor_reset", target=user, reason=reason)


@transaction.atomic
def password_login_policy_set(*, actor: User, members_use_campus_login: bool, reason: str) -> None:
    """The committee switches password login off (or on again) for accounts of party members; accounts
    without a member record keep it. Refused while no campus single sign-on is configured, which would
    leave those members no way in."""
    if not perms.is_committee_officer(actor):
        raise PermissionDenied(_("只有党委组织部可以设置密码登录范围"))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请写明调整原因"))
    if members_use_campus_login and not campus_login.enabled():
        raise ApplicationError(_("本系统尚未接入统一身份认证，不能关闭党员的密码登录"))
    policy, _created = PasswordLoginPolicy.objects.select_for_update().get_or_create(pk=1)
    if policy.members_use_campus_login == members_use_campus_login:
        raise ApplicationError(_("没有需要保存的修改"))
    before = policy.members_use_campus_login
    policy.members_use_campus_login, policy.set_by = members_use_campus_login, actor
    policy.save()
    audit_record(
        actor=actor,
        action="security.password_login",
        target=None,
        organization=Organization.objects.filter(kind=Organization.Kind.COMMITTEE).first(),
        before={"members_use_campus_login": before},
        after={"members_use_campus_login": members_use_campus_login},
        reason=reason,
    )


# ── API tokens (接口令牌) ─────────────────────────────────────────────────────────────────────

API_TOKEN_LIMIT = 10


def api_token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for the user's own API calls: (token row, the raw token, shown this once)."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("请为令牌起一个名称，例如“微信小程序”"))
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= API_TOKEN_LIMIT:
        raise ApplicationError(_("有效令牌最多 %(limit)s 个，请先撤销不用的令牌") % {"limit": API_TOKEN_LIMIT})
    raw = "ps_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:60], digest=api_token_digest(raw), prefix=raw[3:11])
    audit_record(
        actor=user, action="user.api_token_create", target=user, after={"name": token.name, "prefix": token.prefix}
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; a request carrying it is refused from now on."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise PermissionDenied(_("没有找到该令牌"))
    if token.revoked_at is not None:
        raise ApplicationError(_("该令牌已撤销"))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=user, action="user.api_token_revoke", target=user, before={"name": token.name, "prefix": token.prefix}
    )
    return token


def api_token_authenticate(raw: str | None) -> User | None:
    """The user of an active token, or None; the token's last use is noted (at most once a minute)."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=api_token_digest(raw or ""), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
