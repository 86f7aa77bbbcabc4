"""The matrix's vocabulary: roles, who may do what, and how a URL is checked."""

from dataclasses import dataclass, field

ROLES = [
    "anonymous",
    "member",
    "mass_rep",
    "recorder",
    "panel",
    "committee",
    "secretary",
    "gb_secretary",
    "org_department",
]
LOGGED_IN = set(ROLES) - {"anonymous"}
EVERYONE = set(ROLES)
A1_ROSTER = {"recorder", "panel", "committee", "secretary", "gb_secretary", "org_department"}
COLLEGE_A = {"gb_secretary", "org_department"}
COMMITTEE = {"org_department"}
# Offered the TOTP second factor (settings.TWO_FACTOR_ROLES): the committee, college and branch secretaries.
TWO_FACTOR = {"gb_secretary", "org_department", "secretary"}
A1_MANAGERS = {"secretary", "org_department"}


@dataclass
class Check:
    method: str = "GET"
    target: str = ""  # a key of targets(world); "" for URLs that take no object
    allowed: set = field(default_factory=set)
    data: object = field(default_factory=dict)  # or (world, target) → form data
    ends_at_login: bool = False  # the page's job is to send everyone to the login page (logout)
    kwargs: object = None  # (target, world) → URL kwargs, when the default by model does not fit


def org_checks(method="GET", own=A1_ROSTER, college=COLLEGE_A, committee=COMMITTEE):
    return [
        Check(method, "own_branch", own),
        Check(method, "other_branch", college),
        Check(method, "other_college", committee),
        Check(method, "own_college", college),
    ]


def member_checks(
    method="GET", data=None, own=A1_ROSTER | {"member"}, same=A1_ROSTER, college=COLLEGE_A, committee=COMMITTEE
):
    data = data or {}
    return [
        Check(method, "self", own, data),
        Check(method, "same_branch", same, data),
        Check(method, "other_branch_member", college, data),
        Check(method, "other_college_member", committee, data),
    ]


LEDGER_A1 = A1_ROSTER
RECORDERS_A1 = {"recorder", "committee", "secretary", "org_department"}


def scheme_checks(
    method="GET", data=None, reference=LEDGER_A1, own=LEDGER_A1, college=COLLEGE_A, committee=COMMITTEE, kwargs=None
):
    data = data or {}
    return [
        Check(method, t, allowed, data, kwargs=kwargs)
        for t, allowed in (
            ("reference_scheme", reference),
            ("own_branch_scheme", own),
            ("other_branch_scheme", college),
            ("other_college_scheme", committee),
        )
    ]


def entry_checks(method="GET", data=None):
    data = data or {}
    return [
        Check(method, "own_entry", RECORDERS_A1, data),
        Check(method, "other_branch_entry", COMMITTEE, data),
        Check(method, "other_college_entry", COMMITTEE, data),
    ]


def branch_checks(method="GET", data=None, own=LEDGER_A1, college=COLLEGE_A):
    data = data or {}
    return [
        Check(method, "own_branch", own, data),
        Check(method, "other_branch", college, data),
        Check(method, "other_college", COMMITTEE, data),
    ]


SCHEME_MANAGERS = {"reference": COMMITTEE, "own": A1_MANAGERS, "college": COMMITTEE}
