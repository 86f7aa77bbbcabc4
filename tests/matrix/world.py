"""The matrix's world: the small university of tests/builders.py with, in A1 (own), A2 (another branch)
and B1 (another college), an approved scheme, ledger entries and one of each review-pipeline object."""

import datetime

from tests.builders import build_university

from .api import api_targets
from .common import ROLES
from .dashboards import dashboard_targets
from .evidence import evidence_targets
from .io import io_targets
from .meetings import meeting_targets
from .reviews import review_targets


def add_scoring(world):
    """An open year, the Policy A references, an approved scheme in A1, A2 and B1, an entry in each."""
    from scoring import services as scoring
    from scoring.models import Period

    year = datetime.date.today().year
    scoring.cycle_open(actor=world.admin, year=year, committee=world.U)
    reference = scoring.scheme_preset_load(actor=world.admin, preset="A-staff", year=year, owner=world.U)
    schemes = {}
    for branch in (world.A1, world.A2, world.B1):
        scheme = scoring.scheme_derive(actor=world.admin, source=reference, owner=branch)
        scoring.scheme_submit(actor=world.admin, scheme=scheme)
        schemes[branch.code] = scoring.scheme_approve(actor=world.admin, scheme=scheme)
    period = Period.objects.get(cycle__year=year, kind="semester", index=1)
    entries = {}
    for code, member in (("A1", world.a1_members[3]), ("A2", world.a2_members[0]), ("B1", world.b1_members[0])):
        item = schemes[code].items.get(code="A-C02")
        entries[code] = scoring.entry_record(
            actor=world.admin, member=member, item=item, period=period, points=2, reason="志愿服务"
        )
    return reference, schemes, entries, period


def build_matrix_world():
    world = build_university(size=5)
    reference, schemes, entries, period = add_scoring(world)
    world.users = {role: getattr(world, role) for role in ROLES if role != "anonymous"}
    world.users["anonymous"] = None
    world.targets = {
        "own_branch": world.A1,
        "other_branch": world.A2,
        "other_college": world.B1,
        "own_college": world.A,
        "self": world.a1_members[4],
        "same_branch": world.a1_members[3],
        "other_branch_member": world.a2_members[0],
        "other_college_member": world.b1_members[0],
        "reference_scheme": reference,
        "own_branch_scheme": schemes["A1"],
        "other_branch_scheme": schemes["A2"],
        "other_college_scheme": schemes["B1"],
        "own_entry": entries["A1"],
        "other_branch_entry": entries["A2"],
        "other_college_entry": entries["B1"],
        "period": period,
        "cycle": period.cycle,
    }
    world.targets.update(io_targets(world))
    world.targets.update(dashboard_targets(world))
    world.targets.update(review_targets(world))
    world.targets.update(evidence_targets(world))
    world.targets.update(meeting_targets(world))
    world.targets.update(api_targets(world))
    assert world.a1_members[4].user == world.member
    return world
