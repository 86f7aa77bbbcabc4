"""The load test's page list (benchmarks/load/pages.py) still names views that exist.

The load test is not part of the suite (it runs minutes against PostgreSQL); this keeps it from
rotting when a URL moves: every path it requests must resolve to the view it is labelled with.
"""

import re

import pytest
from django.urls import resolve

from benchmarks.load.pages import LOGIN, PAGES, WRITES

PATHS = sorted(
    {(name, path) for pages in PAGES.values() for name, path, _weight in pages}
    | {(name, path) for name, path, _weight in WRITES.values()}
    | {LOGIN}
)


@pytest.mark.parametrize(("name", "path"), PATHS)
def test_every_load_test_path_resolves_to_its_view(name, path):
    concrete = re.sub(r"{year}", "2026", re.sub(r"{(?!year)\w+}", "7", path)).split("?")[0]
    assert resolve(concrete).url_name == name


def test_every_role_has_pages_and_the_writes_are_its_own():
    assert set(PAGES) == {"committee", "college", "branch", "member", "panelist", "mass"}
    assert set(WRITES) <= set(PAGES)
    assert all(weight > 0 for pages in PAGES.values() for _name, _path, weight in pages)


def test_the_demo_grows_by_branches_of_realistic_size():
    from partyscore.demo.university import BRANCHES, COLLEGES, college_branches

    assert college_branches(800) == BRANCHES  # the default demo is unchanged
    scaled = college_branches(5000)
    assert sum(size for _name, _category, size in scaled) * len(COLLEGES) == 5000
    assert len(scaled) == 24 and all(30 <= size <= 80 for _name, _category, size in scaled)
    assert len({name for name, _category, _size in scaled}) == 24


def test_every_account_of_the_plan_opens_every_page_of_its_role(db, client):
    """The plan the load test builds from the demo names ids that each role may open (200)."""
    from benchmarks.load.plan import build_plan
    from members.models import User
    from partyscore.demo.university import demo_university_seed

    demo_university_seed()
    plan = build_plan()
    for role, pages in PAGES.items():
        account = plan["accounts"][role][0]
        client.force_login(User.objects.get(username=account["username"]))
        values = {key: value[-1] if isinstance(value, list) else value for key, value in account.items()}
        opened = [
            name
            for name, path, _weight in pages
            if set(re.findall(r"{(\w+)}", path)) <= set(values) and client.get(path.format(**values)).status_code == 200
        ]
        assert opened == [name for name, path, _weight in pages if set(re.findall(r"{(\w+)}", path)) <= set(values)]
    assert any("self_period" in account for account in plan["accounts"]["member"])
    assert all(account["record_items"] for account in plan["accounts"]["branch"])
