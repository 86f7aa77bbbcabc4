"""Authorization-matrix entries for the dashboard URLs (merged into MATRIX).

Dashboards, boards and reports follow the ledger's scope (LEDGER_VIEW: the branch's role holders,
the college's secretary, the organization department); supervision actions are the organization
department's (OVERSEE); a branch's report is written by whoever runs the branch (BRANCH_RUN), a
college's by its secretary (SCHEME_APPROVE), and sent back by the level above.
"""

from .common import A1_MANAGERS, A1_ROSTER, COLLEGE_A, COMMITTEE, LOGGED_IN, Check

A1_MEMBERS = {"member", "panel", "committee", "secretary"}  # accounts with a member record in A1


def _orgs(
    method="GET", data=None, own=A1_ROSTER, college=COLLEGE_A, committee=COMMITTEE, university=COMMITTEE, kwargs=None
):
    """The four organizations of the matrix and the university, each with who may reach it."""
    data = data if data is not None else {}
    return [
        Check(method, "own_branch", own, data, kwargs=kwargs),
        Check(method, "other_branch", college, data, kwargs=kwargs),
        Check(method, "other_college", committee, data, kwargs=kwargs),
        Check(method, "own_college", college, data, kwargs=kwargs),
        Check(method, "university", university, data, kwargs=kwargs),
    ]


def with_year(org, world):
    return {"org_id": org.pk, "year": world.targets["period"].cycle.year}


def spot_check_id(check, world):
    return {"spot_check_id": check.pk}


def notice_for(world, org):
    """A notice about the target itself, or about A1 when the target is the university."""
    return {"branch": world.A1.pk if org.parent_id is None else org.pk, "kind": "commend", "reason": "工作扎实"}


def drill_outside(world, org):
    """A drill-down into B1 (another college) from A's dashboard: refused for everyone."""
    return {"metric": "scored", "org": world.B1.pk}


DASHBOARDS_MATRIX = {
    "dashboard": [Check(allowed=LOGGED_IN)],
    "dashboard_me": [Check(allowed=A1_MEMBERS)],
    "dashboard_org": _orgs(),
    "dashboard_export": _orgs(),
    "dashboard_drill": [*_orgs(data={"metric": "scored"}), Check("GET", "own_college", set(), drill_outside)],
    "dashboard_drill_export": [*_orgs(data={"metric": "scored"}), Check("GET", "own_college", set(), drill_outside)],
    "dashboard_branch": _orgs(),
    "college_board": _orgs(),
    "supervision": _orgs(),
    "spot_check_new": _orgs("POST", lambda w, t: {"size": 2, "branch": w.A1.pk}, own=COMMITTEE, college=COMMITTEE),
    "commendation_new": _orgs("POST", notice_for, own=COMMITTEE, college=COMMITTEE),
    "spot_check_detail": [
        Check("GET", "own_spot_check", A1_ROSTER, kwargs=spot_check_id),
        Check("GET", "far_spot_check", COMMITTEE, kwargs=spot_check_id),
        Check(
            "POST",
            "own_spot_check",
            COMMITTEE,
            lambda w, t: {"item": t.items.first().pk, "verdict": "ok"},
            kwargs=spot_check_id,
        ),
    ],
    "work_reports": _orgs(),
    "work_reports_export": _orgs(),
    "work_report": [
        *_orgs(kwargs=with_year)[:4],
        Check(
            "POST",
            "own_branch",
            A1_MANAGERS,
            {"summary": "年度工作总结", "lock_version": 0, "action": "save"},
            kwargs=with_year,
        ),
        Check(
            "POST",
            "own_college",
            COLLEGE_A,
            {"summary": "学院工作总结", "lock_version": 0, "action": "save"},
            kwargs=with_year,
        ),
        Check(
            "POST", "submitted_report_branch", COLLEGE_A, {"action": "return", "reason": "数据需核实"}, kwargs=with_year
        ),
    ],
    "work_report_export": _orgs(kwargs=with_year)[:4],
}


def dashboard_targets(world):
    """Extra objects the entries above name as targets (added to the matrix world)."""
    from partyscore.dashboards.services import spot_check_draw, work_report_save

    year = world.targets["period"].cycle.year
    own = spot_check_draw(actor=world.org_department, branch=world.A1, year=year, size=2)
    far = spot_check_draw(actor=world.org_department, branch=world.B1, year=year, size=2)
    work_report_save(
        actor=world.org_department, organization=world.A2, year=year, summary="甲二支部年度总结", submit=True
    )
    return {"university": world.U, "own_spot_check": own, "far_spot_check": far, "submitted_report_branch": world.A2}
