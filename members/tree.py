"""Adjusting the organization tree: rename, move, merge and close a node (adding one is
services.organization_create). Each change takes a reason and is audited with before and after.

Who: whoever holds perms.TREE_MANAGE at the node's parent, and for a move at the new parent too.
The organization department (at the committee) adjusts the general branches and every branch; a
general branch's secretary adjusts the branches of its own general branch only, so never creates a
general branch nor moves a branch out of its subtree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError

from . import permissions as perms
from .models import CHILD_KIND, Member, MemberTransfer, Organization, RoleAssignment
from .services import (
    member_move,
    organization_snapshot,
    recalculate_branch_later,
    refuse_closed,
    refuse_name_taken,
    role_assignment_end,
)

if TYPE_CHECKING:
    import datetime

    from django.db.models import QuerySet

    from .models import User


def _require_adjust(actor: User, org: Organization) -> None:
    if not perms.may_adjust_tree(actor, org):
        raise PermissionDenied(_("您无权调整“%(org)s”") % {"org": org})


def _audited(actor: User, org: Organization, action: str, before: dict[str, Any], reason: str) -> None:
    """Record a change of `org` with its state before and now."""
    audit_record(
        actor=actor,
        action=action,
        target=org,
        organization=org,
        before=before,
        after=organization_snapshot(org),
        reason=reason,
    )


def _require_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请写明原因"))
    return reason


def _locked(org: Organization) -> Organization:
    """The node read again under a row lock, so two changes to it happen one after the other."""
    return Organization.objects.select_for_update(of=("self",)).select_related("parent").get(pk=org.pk)


@transaction.atomic
def organization_rename(*, actor: User, organization: Organization, name: str, reason: str) -> Organization:
    _require_adjust(actor, organization)
    reason = _require_reason(reason)
    org = _locked(organization)
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("请填写组织名称"))
    refuse_closed(org)
    if name == org.name:
        raise ApplicationError(_("没有需要保存的修改"))
    refuse_name_taken(parent=org.parent, name=name, exclude=org)
    before = organization_snapshot(org)
    org.name = name
    org.save(update_fields=["name"])
    _audited(actor, org, "organization.rename", before, reason)
    return org


@transaction.atomic
def organization_move(
    *, actor: User, organization: Organization, new_parent: Organization, reason: str
) -> Organization:
    """Put a node under another parent of the right kind (a branch under another general branch).

    The materialized path and depth of the node and of everything below it are rewritten in one
    statement, inside this transaction."""
    _require_adjust(actor, organization)
    if not perms.has_org_perm(actor, perms.TREE_MANAGE, new_parent):
        raise PermissionDenied(_("您无权调整“%(org)s”") % {"org": new_parent})
    reason = _require_reason(reason)
    org = _locked(organization)
    new_parent = _locked(new_parent)
    refuse_closed(org)
    refuse_closed(new_parent)
    if new_parent.pk == org.parent_id:
        raise ApplicationError(_("“%(org)s”已在“%(parent)s”下") % {"org": org, "parent": new_parent})
    if new_parent.path.startswith(org.path):
        raise ApplicationError(_("不能移到自己或自己的下级组织之下"))
    if CHILD_KIND.get(new_parent.kind) != org.kind:
        raise ApplicationError(
            _("%(kind)s不能设在“%(parent)s”下") % {"kind": org.get_kind_display(), "parent": new_parent}
        )
    refuse_name_taken(parent=new_parent, name=org.name)
    before = organization_snapshot(org)
    old_path, new_path = org.path, f"{new_parent.path}{org.pk:06d}/"
    Organization.objects.filter(pk=org.pk).update(parent=new_parent)
    Organization.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + (new_parent.depth + 1 - org.depth),
    )
    org.refresh_from_db()
    _audited(actor, org, "organization.move", before, reason)
    return org


def _active_members(org: Organization) -> QuerySet[Member]:
    return Member.objects.filter(branch__path__startswith=org.path, left_on__isnull=True)


@transaction.atomic
def organization_close(
    *, actor: User, organization: Organization, closed_on: datetime.date | None, reason: str
) -> Organization:
    """Close (撤销) a node on a date. It keeps its history and shows in the tree as closed; from that
    date it takes no new members, ledger entries or appointments. Its members must have moved first,
    and a general branch's branches must be closed or moved first."""
    _require_adjust(actor, organization)
    reason = _require_reason(reason)
    if closed_on is None:
        raise ApplicationError(_("请填写撤销日期"))
    org = _locked(organization)
    if org.closed_on is not None:
        raise ApplicationError(_("“%(org)s”已于 %(date)s 撤销") % {"org": org, "date": org.closed_on})
    if closed_on > timezone.localdate():
        raise ApplicationError(_("撤销日期不能晚于今天"))
    active = _active_members(org).count()
    if active:
        raise ApplicationError(
            _("“%(org)s”还有 %(n)s 名党员，请先将他们转入其他支部（或合并支部）") % {"org": org, "n": active}
        )
    if org.children.filter(closed_on__isnull=True).exists():
        raise ApplicationError(_("“%(org)s”下还有未撤销的党支部，请先撤销或移走") % {"org": org})
    before = organization_snapshot(org)
    org.closed_on = closed_on
    org.save(update_fields=["closed_on"])
    _audited(actor, org, "organization.close", before, reason)
    # Nobody keeps a role at a closed node (its secretary, panel, mass representatives).
    for assignment in RoleAssignment.objects.filter(organization=org, revoked_at__isnull=True).select_related("user"):
        role_assignment_end(actor=actor, assignment=assignment, reason=reason)
    return org


@transaction.atomic
def organization_merge(
    *, actor: User, source: Organization, target: Organization, merged_on: datetime.date | None, reason: str
) -> list[Member]:
    """Merge branch `source` into branch `target` on `merged_on`: every current member of `source`
    moves to `target` by a transfer (a MemberTransfer in each member's history; their ledger stays
    theirs), then `source` is closed on that date. Returns the members moved."""
    _require_adjust(actor, source)
    _require_adjust(actor, target)
    reason = _require_reason(reason)
    if merged_on is None:
        raise ApplicationError(_("请填写合并日期"))
    source, target = _locked(source), _locked(target)
    if not (source.is_branch and target.is_branch):
        raise ApplicationError(_("只能将党支部并入另一个党支部"))
    if source.pk == target.pk:
        raise ApplicationError(_("不能并入自己"))
    refuse_closed(source)
    refuse_closed(target, merged_on)
    moving = list(_active_members(source).select_related("branch").order_by("number"))
    with translation.override(settings.LANGUAGE_CODE):  # kept in each member's history in Chinese
        note = (_("支部合并：%(reason)s") % {"reason": reason})[: MemberTransfer._meta.get_field("reason").max_length]
    for member in moving:
        member_move(
            actor=actor,
            member=member,
            to_branch=target,
            transferred_on=merged_on,
            reason=note,
        )
    closed = organization_close(actor=actor, organization=source, closed_on=merged_on, reason=reason)
    audit_record(
        actor=actor,
        action="organization.merge",
        target=closed,
        organization=target,
        before={"source": source.pk, "members": len(moving)},
        after={"target": target.pk, "members": [m.pk for m in moving]},
        reason=reason,
    )
    if moving:  # both branches' totals of the years from the merge to today
        for branch in (source, target):
            recalculate_branch_later(branch.pk, merged_on.year, timezone.localdate().year)
    return moving
