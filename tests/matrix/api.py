"""Authorization-matrix entries for the REST API (merged into MATRIX).

Each API route answers who the page it mirrors answers: the roster as the member list, the ledger as
the ledger page, the totals as the points board, a ledger entry as the entry form, the card and the
self-assessment to A1's members themselves, an objection to the member and the branch's mass
representative, a sign-in to anyone logged in (who is not expected is refused by the service). The
matrix logs in by session; tests/api/ covers the tokens. The schema and its documentation page are
public: they describe the API and hold no data.
"""

from .common import COMMITTEE, EVERYONE, LOGGED_IN, RECORDERS_A1, Check, branch_checks, org_checks
from .meetings import MEETINGS, _meeting

A1_MEMBERS = {"member", "panel", "committee", "secretary"}  # accounts with a member record in A1

API_MATRIX = {
    "api_schema": [Check(allowed=EVERYONE)],
    "api_docs": [Check(allowed=EVERYONE)],
    "api_my_card": [Check(allowed=A1_MEMBERS)],
    "api_self_assessment": [Check("POST", "period", A1_MEMBERS)],
    "api_objections": [
        Check(
            "POST",
            "self",
            {"member", "mass_rep"},
            lambda w, t: {"member": t.pk, "reason": "分值有误"},
            kwargs=lambda t, w: {},
        ),
        Check(
            "POST",
            "other_college_member",
            set(),
            lambda w, t: {"member": t.pk, "reason": "分值有误"},
            kwargs=lambda t, w: {},
        ),
    ],
    "api_meeting_sign_in": [
        Check("POST", target, LOGGED_IN, {"token": "forged"}, kwargs=_meeting) for target, _read, _record in MEETINGS
    ],
    "api_branch_members": org_checks(),
    "api_branch_ledger": [
        *org_checks(),
        *org_checks("POST", own=RECORDERS_A1, college=COMMITTEE, committee=COMMITTEE)[:3],
        Check("POST", "own_college", set()),
    ],
    "api_branch_totals": branch_checks(),
    # Everyone keeps their own tokens; another's token is not found (403) for anyone else.
    "api_tokens": [Check(allowed=LOGGED_IN), Check("POST", allowed=LOGGED_IN)],
    "api_token_revoke": [Check("POST", allowed={"member"}, kwargs=lambda t, w: {"token_id": w.api_token.pk})],
}


def api_targets(world):
    """The plain member's token (the one the revocation entry is sent for)."""
    from members.services import api_token_create

    world.api_token, _raw = api_token_create(user=world.member, name="微信小程序")
    return {}
