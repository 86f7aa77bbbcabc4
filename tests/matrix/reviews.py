"""Authorization-matrix entries for the review pipeline's URLs (merged into MATRIX)."""

import datetime

from django.utils import timezone

from .common import A1_ROSTER, COLLEGE_A, COMMITTEE, LOGGED_IN, Check

# Roles whose account has a member record in A1 (the rest are staff-only or mass-representative accounts).
A1_MEMBERS = {"member", "panel", "committee", "secretary"}
REVIEWERS_A1 = {"committee", "secretary", "org_department"}
RUNNERS_A1 = {"secretary", "org_department"}


def _branches(method="GET", own=A1_ROSTER, college=COLLEGE_A, committee=COMMITTEE, data=None, kwargs=None):
    data = data or {}
    return [
        Check(method, "own_branch", own, data, kwargs=kwargs),
        Check(method, "other_branch", college, data, kwargs=kwargs),
        Check(method, "other_college", committee, data, kwargs=kwargs),
    ]


def _own_and_far(method, own_target, far_target, own, far, data=None):
    data = data or {}
    return [Check(method, own_target, own, data), Check(method, far_target, far, data)]


def with_period(branch, world):
    return {"org_id": branch.pk, "period_id": world.targets["period"].pk}


def with_period_and_member(branch, world):
    member = {"A1": world.a1_members[3], "A2": world.a2_members[0], "B1": world.b1_members[0]}[branch.code]
    return {**with_period(branch, world), "member_id": member.pk}


def with_year(branch, world):
    return {"org_id": branch.pk, "year": world.targets["period"].cycle.year}


def annual_report_of(world, branch):
    member = {"A1": world.a1_members[3], "A2": world.a2_members[0], "B1": world.b1_members[0]}[branch.code]
    return {"member": member.pk, "summary": ""}


REVIEWS_MATRIX = {
    "my_reviews": [Check(allowed=A1_MEMBERS)],
    "my_pledges": [Check(allowed=A1_MEMBERS), Check("POST", allowed=A1_MEMBERS)],
    "my_pledges_print": [Check(allowed=A1_MEMBERS)],
    "self_assessment": [Check("GET", "period", A1_MEMBERS), Check("POST", "period", A1_MEMBERS)],
    "declaration_new": [Check(allowed=A1_MEMBERS), Check("POST", allowed=A1_MEMBERS)],
    "fulfilment_new": [Check(allowed=A1_MEMBERS), Check("POST", allowed=A1_MEMBERS)],
    "objection_new": [
        Check("GET", "self", {"member", "mass_rep"}, lambda w, t: {"member": t.pk}, kwargs=lambda t, w: {}),
        Check("POST", "self", {"member", "mass_rep"}, lambda w, t: {"member": t.pk}, kwargs=lambda t, w: {}),
        Check("GET", "other_college_member", set(), lambda w, t: {"member": t.pk}, kwargs=lambda t, w: {}),
    ],
    "objection_detail": [
        *_own_and_far("GET", "own_objection", "far_objection", {"member", *REVIEWERS_A1}, COMMITTEE),
        *_own_and_far(
            "POST",
            "own_objection",
            "far_objection",
            {"member"},
            set(),
            data={"action": "escalate", "reason": "仍有异议"},
        ),
    ],
    "publicity_detail": _own_and_far("GET", "own_publicity", "far_publicity", LOGGED_IN, COMMITTEE),
    "notifications": [Check(allowed=LOGGED_IN), Check("POST", allowed=LOGGED_IN)],
    # Notices that did not reach their channel: the organization department, beside the audit log.
    "delivery_failures": [Check(allowed=COMMITTEE)],
    "branch_reviews": _branches(),
    "branch_action": _branches(
        "POST",
        own=REVIEWERS_A1,
        college=COMMITTEE,
        data=annual_report_of,
        kwargs=lambda b, w: {"org_id": b.pk, "action": "annual-report"},
    ),
    # Without ticked rows: an allowed reviewer gets the refusal (400), nothing of the world is decided.
    "branch_decide_batch": _branches(
        "POST",
        own=REVIEWERS_A1,
        college=COMMITTEE,
        data={"decision": "approve"},
        kwargs=lambda b, w: {"org_id": b.pk, "kind": "pledges"},
    ),
    "pledge_decide": _own_and_far(
        "POST", "own_pledge", "far_pledge", REVIEWERS_A1, COMMITTEE, data={"approve": "0", "reason": ""}
    ),
    "fulfilment_decide": _own_and_far(
        "POST", "own_fulfilment", "far_fulfilment", REVIEWERS_A1, COMMITTEE, data={"approve": "0", "reason": ""}
    ),
    "declaration_decide": _own_and_far(
        "POST", "own_declaration", "far_declaration", REVIEWERS_A1, COMMITTEE, data={"approve": "0", "reason": ""}
    ),
    "panel_board": _branches(kwargs=with_period),
    "panel_member": [
        *_branches(kwargs=with_period_and_member),
        Check("POST", "own_branch", {"panel"}, {"action": "save"}, kwargs=with_period_and_member),
    ],
    "mass_form": [
        *_branches(own={"mass_rep"}, college=set(), committee=set()),
        Check("POST", "own_branch", {"mass_rep"}),
    ],
    "mass_results": _branches(own={"committee", "secretary", "gb_secretary", "org_department"}),
    "determination": [
        *_branches(kwargs=with_year),
        *_branches("POST", own=RUNNERS_A1, college=COMMITTEE, data={"action": "prepare"}, kwargs=with_year),
    ],
    "determination_reopen": _own_and_far(
        "POST", "own_determination", "far_determination", COMMITTEE, COMMITTEE, data={"reason": "复核"}
    ),
    "follow_ups": [Check(allowed=RUNNERS_A1)],
    "escalations": [Check(allowed={"secretary", "gb_secretary", "org_department"})],
    # The next year exists (closed) in the matrix world, so the one permitted request is refused
    # without rolling the world over.
    "rollover_start": [Check("POST", allowed=COMMITTEE)],
    "rollover_progress": [Check("GET", "rollover", COMMITTEE)],
    "follow_up_record": [Check("GET", "own_follow_up", RUNNERS_A1), Check("POST", "own_follow_up", RUNNERS_A1)],
}


def review_targets(world):
    """One of each pipeline object in A1 (own) and in B1 (another college), built through services."""
    from reviews import services
    from reviews.models import FollowUp, Rollover
    from scoring import services as scoring
    from scoring.models import Cycle, Period
    from scoring.selectors import scheme_for_member

    period = world.targets["period"]
    year = period.cycle.year
    month = Period.objects.get(cycle=period.cycle, kind="month", index=1)
    now = timezone.now()
    objects = {}
    for key, branch, member in (("own", world.A1, world.a1_members[4]), ("far", world.B1, world.b1_members[1])):
        if member.user is None:
            continue
        user = member.user
        pledge = services.pledge_save(actor=user, member=member, year=year, kind="vanguard", content="立足岗位作表率")
        services.pledges_submit(actor=user, member=member, year=year)
        objects[f"{key}_pledge"] = pledge
        objects[f"{key}_fulfilment"] = services.fulfilment_submit(
            actor=user, member=member, period=month, content="践诺情况"
        )
        scheme = scheme_for_member(member=member, year=year)
        objects[f"{key}_declaration"] = services.declaration_submit(
            actor=user, member=member, item=scheme.items.get(code="A-C02"), period=period, points=2, reason="志愿服务"
        )
        entry = scoring.entry_record(
            actor=world.admin,
            member=member,
            item=scheme.items.get(code="A-C04"),
            period=period,
            points=1,
            reason="结对帮扶",
        )
        objects[f"{key}_objection"] = services.objection_raise(
            actor=user, member=member, reason="分值偏低", entry=entry
        )
        objects[f"{key}_publicity"] = services.publicity_open(
            actor=world.admin,
            branch=branch,
            year=year,
            kind="scores",
            starts_at=now - datetime.timedelta(days=1),
            ends_at=now + datetime.timedelta(days=4),
        )
        objects[f"{key}_determination"] = services.determination_prepare(actor=world.admin, branch=branch, year=year)
    Cycle.objects.create(year=year + 1, is_open=False)
    objects["rollover"] = Rollover.objects.create(
        from_year=year - 1, to_year=year, branches_total=3, started_by=world.admin
    )
    objects["own_follow_up"] = FollowUp.objects.create(
        member=world.a1_members[3],
        determination=objects["own_determination"],
        kind="talk_secretary",
        rule_code="A-YELLOW",
        reason="黄色预警",
        responsible=world.A1,
        due_on=datetime.date(year, 12, 31),
    )
    return objects
