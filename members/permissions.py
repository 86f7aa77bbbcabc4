"""Who may do what where, derived from role assignments.

A role held at a node grants its permissions on that node only; they are inherited by every node
below it through the materialized path. The checks here derive the permissions from the assignments
in force today (`RoleAssignment.objects.active_on`) and the rules below, on each request; nothing is
stored, so a term that ends, starts or is revoked takes effect at once, with no job to run.
docs/security.md ("One source of permissions") says why this is not django-guardian.
"""

from django.db.models import Q

from .models import Organization, Role, RoleAssignment

ROSTER_VIEW = "view_roster"
ROSTER_MANAGE = "manage_roster"
AUDIT_VIEW = "view_audit"
EXEMPTION_APPROVE = "approve_exemption"
ROLES_MANAGE = "manage_roles"
LEDGER_VIEW = "view_ledger"
ENTRY_RECORD = "record_entry"
SCHEME_MANAGE = "manage_scheme"
SCHEME_APPROVE = "approve_scheme"
CYCLE_MANAGE = "manage_cycle"
MEMBERS_REVIEW = "review_members"  # pledges, fulfilment reports, declarations, annual reports
PANEL_SCORE = "panel_score"
BRANCH_RUN = "run_branch"  # confirm panel scores, publicity, the determination, follow-ups
OBJECTIONS_HANDLE = "handle_objections"
MASS_EVALUATE = "mass_evaluate"
MASS_RESULTS_VIEW = "view_mass_results"
OVERSEE = "oversee"  # escalated objections, reopening determinations, auditing mass answers
TREE_MANAGE = "manage_tree"  # add, rename, move, merge and close the nodes below where it is held

# Rules as data: what each role may do at (and below) the node where it is held.
ROLE_PERMISSIONS = {
    Role.ORG_DEPARTMENT: {
        ROSTER_VIEW,
        ROSTER_MANAGE,
        AUDIT_VIEW,
        EXEMPTION_APPROVE,
        ROLES_MANAGE,
        LEDGER_VIEW,
        ENTRY_RECORD,
        SCHEME_MANAGE,
        SCHEME_APPROVE,
        CYCLE_MANAGE,
        MEMBERS_REVIEW,
        BRANCH_RUN,
        OBJECTIONS_HANDLE,
        MASS_RESULTS_VIEW,
        OVERSEE,
        TREE_MANAGE,
    },
    Role.GENERAL_BRANCH_SECRETARY: {
        ROSTER_VIEW,
        ROLES_MANAGE,
        LEDGER_VIEW,
        SCHEME_APPROVE,
        MASS_RESULTS_VIEW,
        TREE_MANAGE,
    },
    Role.BRANCH_SECRETARY: {
        ROSTER_VIEW,
        ROSTER_MANAGE,
        ROLES_MANAGE,
        LEDGER_VIEW,
        ENTRY_RECORD,
        SCHEME_MANAGE,
        MEMBERS_REVIEW,
        BRANCH_RUN,
        OBJECTIONS_HANDLE,
        MASS_RESULTS_VIEW,
    },
    Role.BRANCH_COMMITTEE: {
        ROSTER_VIEW,
        LEDGER_VIEW,
        ENTRY_RECORD,
        MEMBERS_REVIEW,
        OBJECTIONS_HANDLE,
        MASS_RESULTS_VIEW,
    },
    Role.PANEL_MEMBER: {ROSTER_VIEW, LEDGER_VIEW, PANEL_SCORE},
    Role.RECORDER: {ROSTER_VIEW, LEDGER_VIEW, ENTRY_RECORD},
    Role.MASS_REPRESENTATIVE: {MASS_EVALUATE},
}

# Which kind of node each role is held at.
ROLE_ORG_KIND = {
    Role.ORG_DEPARTMENT: Organization.Kind.COMMITTEE,
    Role.GENERAL_BRANCH_SECRETARY: Organization.Kind.GENERAL_BRANCH,
    Role.BRANCH_SECRETARY: Organization.Kind.BRANCH,
    Role.BRANCH_COMMITTEE: Organization.Kind.BRANCH,
    Role.PANEL_MEMBER: Organization.Kind.BRANCH,
    Role.RECORDER: Organization.Kind.BRANCH,
    Role.MASS_REPRESENTATIVE: Organization.Kind.BRANCH,
}

# Roles a holder of ROLES_MANAGE may give at a branch without being organization department:
# a secretary staffs their own branch's committee, panel, recorders and mass representatives.
BRANCH_DELEGABLE_ROLES = {Role.BRANCH_COMMITTEE, Role.PANEL_MEMBER, Role.RECORDER, Role.MASS_REPRESENTATIVE}


def _granted_paths(user, perm):
    """Paths of the nodes where `user` directly holds `perm`.

    All of a user's (permission, node) rows are read in one query on first use and kept on the
    user object for the request: a page asks about a dozen permissions, not a dozen queries.
    """
    if not user.is_authenticated:
        return ()
    if user.is_superuser:
        return ("",)  # the empty prefix matches every path
    held = user.__dict__.get("_org_perm_paths")
    if held is None:
        pairs = {}
        for codename, path in _held_permissions(user):
            pairs.setdefault(codename, []).append(path)
        held = user.__dict__["_org_perm_paths"] = {codename: tuple(paths) for codename, paths in pairs.items()}
    return held.get(perm, ())


def _held_permissions(user):
    """(codename, node path) for every organization permission `user` holds today, in one query."""
    held = RoleAssignment.objects.active_on().filter(user=user).values_list("role", "organization__path")
    return [(codename, path) for role, path in held for codename in ROLE_PERMISSIONS[Role(role)]]


def has_org_perm(user, perm, org):
    """May `user` do `perm` at `org`: held there or at any node above it."""
    return any(org.path.startswith(prefix) for prefix in _granted_paths(user, perm))


def holds_anywhere(user, perm):
    """Does `user` hold `perm` at some node (answered from the request's one permission query)."""
    return bool(_granted_paths(user, perm))


def is_committee_officer(user):
    """The committee's organization department (the audit permission held at the committee): the
    security log and the university-wide security settings are theirs alone."""
    return orgs_with_perm(user, AUDIT_VIEW).filter(kind=Organization.Kind.COMMITTEE).exists()


def orgs_with_perm(user, perm):
    """Every organization where `user` may do `perm` (held there or inherited from above)."""
    paths = _granted_paths(user, perm)
    if not paths:
        return Organization.objects.none()
    condition = Q()
    for prefix in paths:
        condition |= Q(path__startswith=prefix)
    return Organization.objects.filter(condition)


def can_view_member(user, member):
    """The member themself, or anyone who may see their branch's roster."""
    if member.user_id is not None and member.user_id == user.pk:
        return True
    return has_org_perm(user, ROSTER_VIEW, member.branch)


def _held_above(user, perm, org):
    """Held at a node strictly above `org`, not at `org` itself."""
    return any(org.path.startswith(prefix) and prefix != org.path for prefix in _granted_paths(user, perm))


def may_appoint(user, organization, role):
    """May `user` give (or revoke) `role` at `organization`.

    The organization department appoints anyone anywhere; a college appoints the secretaries of its
    branches (a secretary is never appointed from within the branch); a branch secretary staffs their
    branch's committee, panel, recorders and mass representatives.
    """
    if user is None or user.is_superuser:
        return True
    if not has_org_perm(user, ROLES_MANAGE, organization):
        return False
    if has_org_perm(user, AUDIT_VIEW, organization):
        return True
    if role == Role.BRANCH_SECRETARY:
        return _held_above(user, ROLES_MANAGE, organization)
    return role in BRANCH_DELEGABLE_ROLES


def may_adjust_tree(user, org):
    """May `user` rename, move, merge or close `org` (members/tree.py): TREE_MANAGE held at its parent
    or above, so a general branch's secretary adjusts its branches, not its general branch; the root
    (the committee) is never adjusted here."""
    return org.parent_id is not None and has_org_perm(user, TREE_MANAGE, org.parent)


def appointable_roles(user, organization):
    """The roles `user` may give at `organization`, in the order of Role."""
    return [role for role in Role if ROLE_ORG_KIND[role] == organization.kind and may_appoint(user, organization, role)]


def forget_cached_perms(user):
    """Drop the request's permission pairs (and their nodes) kept on `user`: their roles changed."""
    user.__dict__.pop("_org_perm_paths", None)
    user.__dict__.pop("_org_perm_nodes", None)


def scope_roots(user, perm) -> list[Organization]:
    """The topmost nodes of `user`'s scope for `perm` (where their roles are held), in tree order.

    The nodes of all the user's permissions are read in one query on first use and kept on the user
    for the request, like their paths: the home page asks for the roots of eight permissions."""
    paths = _granted_paths(user, perm)
    if not paths:
        return []
    nodes = user.__dict__.get("_org_perm_nodes")
    if nodes is None:
        held = {""} if user.is_superuser else {p for ps in user.__dict__["_org_perm_paths"].values() for p in ps}
        condition = Q(path__in=held - {""})
        if "" in held:
            condition |= Q(parent__isnull=True)
        nodes = user.__dict__["_org_perm_nodes"] = list(Organization.objects.filter(condition).order_by("path"))
    if "" in paths:
        return [o for o in nodes if o.parent_id is None]
    wanted = set(paths)
    return [o for o in nodes if o.path in wanted]
