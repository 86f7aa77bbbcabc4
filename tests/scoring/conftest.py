"""A university with an open scoring year and both policies' presets, for the scoring tests.

`scoring_world` is `world` (tests/builders.py) plus, for YEAR: the committee's A-staff and
A-student reference schemes (approved presets) and an open cycle. Policy B is loaded for
college B only where a test asks for `load_b_for_college_b`.
"""

import pytest

from partyscore import celery_app
from scoring import services

from .helpers import YEAR, item_in_force, open_year, period


@pytest.fixture
def scoring_world(world):
    schemes = open_year(world, YEAR)
    world.year = YEAR
    world.a_staff = schemes["A-staff"]
    world.a_student = schemes["A-student"]
    return world


@pytest.fixture
def load_b_for_college_b(scoring_world):
    """College B adopts Policy B as its own scheme: it overrides the committee's A for B1."""
    w = scoring_world
    w.b_scheme = services.scheme_preset_load(actor=w.org_department, preset="B", year=YEAR, owner=w.B)
    return w.b_scheme


@pytest.fixture
def record(scoring_world):
    """Record an entry through the service, by the branch's recorder (A1) or the organization
    department (elsewhere), on the item of that code in the member's scheme in force."""
    w = scoring_world

    def _record(member, code, points, *, index=1, kind=None, year=YEAR, actor=None, reason="测试记分", **extra):
        item = item_in_force(member, code, year)
        kind = kind or item.scheme.period_kind
        if actor is None:
            actor = w.recorder if member.branch_id == w.A1.pk else w.org_department
        return services.entry_record(
            actor=actor,
            member=member,
            item=item,
            period=period(index, kind, year),
            points=points,
            reason=reason,
            **extra,
        )

    return _record


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process even where a broker is configured (CI sets REDIS_URL)."""
    conf = celery_app.conf
    before = {key: conf[key] for key in ("task_always_eager", "task_eager_propagates")}
    conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    conf.update(before)
