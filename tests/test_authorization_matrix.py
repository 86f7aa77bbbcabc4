"""Every URL pattern × every role × own / same-branch / other-branch / other-college objects.

The expected outcomes are written out here by hand from the role descriptions, not derived from
the permission code. A URL pattern without an entry fails the suite.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from .builders import build_university
from .matrix.common import (
    A1_MANAGERS,
    COMMITTEE,
    EVERYONE,
    LOGGED_IN,
    RECORDERS_A1,
    ROLES,
    SCHEME_MANAGERS,
    Check,
    branch_checks,
    entry_checks,
    member_checks,
    org_checks,
    scheme_checks,
)

MATRIX = {
    "home": [Check(allowed=LOGGED_IN)],
    "login": [Check(allowed=EVERYONE)],
    "logout": [Check("POST", ends_at_login=True)],
    "password_change": [Check(allowed=LOGGED_IN)],
    "set_language": [Check("POST", allowed=EVERYONE, data={"language": "en", "next": "/"})],
    "org_tree": [Check(allowed=LOGGED_IN, must_not_show=("乙一支部",))],
    "member_list": org_checks(),
    "member_export": org_checks(),
    "member_detail": member_checks(),
    "member_exemption_request": member_checks(
        "POST", {"reason": "年老体弱"}, own={"secretary", "org_department"}, same={"secretary", "org_department"},
        college=COMMITTEE),
    "member_exemption_decide": member_checks(
        "POST", {"approve": "0", "reason": "不符合条件"}, own=COMMITTEE, same=COMMITTEE, college=COMMITTEE),
    "exemption_queue": [Check(allowed=COMMITTEE)],
    "roster_import": [Check(allowed=A1_MANAGERS)],
    "roster_import_confirm": [Check("POST", allowed=A1_MANAGERS, data={"token": "none"})],
    "roster_template": [Check(allowed=A1_MANAGERS)],
    "audit_list": [Check(allowed=COMMITTEE)],
    "ledger": org_checks(),
    "entry_record": [*org_checks(own=RECORDERS_A1, college=COMMITTEE, committee=COMMITTEE)[:3],
                     Check("GET", "own_college", set()),
                     *org_checks("POST", own=RECORDERS_A1, college=COMMITTEE, committee=COMMITTEE)[:3]],
    "entry_reverse": [*entry_checks(), *entry_checks("POST")],
    "points_card": member_checks(),
    "board": branch_checks(),
    "board_visibility": branch_checks("POST", {"visible": "0"}, own=A1_MANAGERS, college=COMMITTEE),
    "scheme_list": [Check(allowed=LOGGED_IN, must_not_show=("乙一支部",))],
    "scheme_preset_load": [Check("POST", allowed=COMMITTEE, data={"preset": "B", "year": "2031"})],
    "scheme_detail": scheme_checks(),
    "scheme_transition": scheme_checks("POST", {"action": "submit"}, **SCHEME_MANAGERS),
    "scheme_edit": [*scheme_checks(**SCHEME_MANAGERS), *scheme_checks("POST", **SCHEME_MANAGERS)],
    "item_new": scheme_checks(**SCHEME_MANAGERS),
    "item_edit": scheme_checks(**SCHEME_MANAGERS, kwargs=lambda s, w: {"scheme_id": s.pk,
                                                                    "item_id": s.items.first().pk}),
    "rule_new": [*scheme_checks(**SCHEME_MANAGERS), *scheme_checks("POST", **SCHEME_MANAGERS)],
    "rule_edit": scheme_checks(**SCHEME_MANAGERS, kwargs=lambda s, w: {"scheme_id": s.pk,
                                                                    "rule_id": s.outcome_rules.first().pk}),
    "scheme_part_remove": scheme_checks("POST", **SCHEME_MANAGERS, kwargs=lambda s, w: {
        "scheme_id": s.pk, "part": "item", "part_id": s.items.first().pk}),
    "cycle_list": [Check(allowed=COMMITTEE), Check("POST", allowed=COMMITTEE)],
    "period_lock": [Check("POST", "period", COMMITTEE, {"action": "reopen", "reason": ""})],
    "deadlines": [
        Check(allowed=LOGGED_IN),
        Check("POST", allowed=COMMITTEE, data=lambda w, t: {"organization": w.U.pk, "code": "A-MEETING",
                                                           "due_on": "bad", "reason": ""}),
        Check("POST", allowed={"gb_secretary"}, data=lambda w, t: {"organization": w.A.pk, "code": "A-MEETING",
                                                                  "due_on": "bad", "reason": ""}),
    ],
}

def _merge_parts():
    """Each capability keeps its own entries in tests/matrix/; all of them must be here."""
    from tests.matrix.dashboards import DASHBOARDS_MATRIX
    from tests.matrix.io import IO_MATRIX
    from tests.matrix.reviews import REVIEWS_MATRIX

    for part in (IO_MATRIX, REVIEWS_MATRIX, DASHBOARDS_MATRIX):
        overlap = set(part) & set(MATRIX)
        assert not overlap, f"duplicate matrix entries: {overlap}"
        MATRIX.update(part)


_merge_parts()

# The admin is for the system administrator only; every role here is turned away from all of it.
ADMIN_NAMESPACE = "admin"

# Which users can still see "乙一支部" legitimately on a permitted page.
SEES_WHOLE_UNIVERSITY = {"org_department"}


def url_pattern_names(patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_pattern_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}", pattern


def add_scoring(world):
    """An open year, the Policy A references, an approved scheme in A1, A2 and B1, an entry in each."""
    import datetime

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
        entries[code] = scoring.entry_record(actor=world.admin, member=member, item=item, period=period, points=2,
                                             reason="志愿服务")
    return reference, schemes, entries, period


@pytest.fixture
def matrix_world(db):
    world = build_university(size=5)
    reference, schemes, entries, period = add_scoring(world)
    world.users = {role: getattr(world, role) for role in ROLES if role != "anonymous"}
    world.users["anonymous"] = None
    world.targets = {
        "own_branch": world.A1, "other_branch": world.A2, "other_college": world.B1, "own_college": world.A,
        "self": world.a1_members[4], "same_branch": world.a1_members[3],
        "other_branch_member": world.a2_members[0], "other_college_member": world.b1_members[0],
        "reference_scheme": reference, "own_branch_scheme": schemes["A1"], "other_branch_scheme": schemes["A2"],
        "other_college_scheme": schemes["B1"], "own_entry": entries["A1"], "other_branch_entry": entries["A2"],
        "other_college_entry": entries["B1"], "period": period,
    }
    from tests.matrix.dashboards import dashboard_targets
    from tests.matrix.io import io_targets
    from tests.matrix.reviews import review_targets

    world.targets.update(io_targets(world))
    world.targets.update(dashboard_targets(world))
    world.targets.update(review_targets(world))
    assert world.a1_members[4].user == world.member
    return world


URL_KWARG = {"Member": "member_id", "Organization": "org_id", "Scheme": "scheme_id", "LedgerEntry": "entry_id",
             "Period": "period_id", "Objection": "objection_id", "Publicity": "publicity_id", "Pledge": "pledge_id",
             "FulfilmentReport": "report_id", "Declaration": "declaration_id", "Determination": "determination_id",
             "FollowUp": "follow_up_id", "Rollover": "rollover_id"}


def url_for(name, target, kwargs=None, world=None):
    if target is None:
        return reverse(name)
    if kwargs is not None:
        return reverse(name, kwargs=kwargs(target, world))
    return reverse(name, kwargs={URL_KWARG[target.__class__.__name__]: target.pk})


def outcome(response):
    """'allowed', 'login' (sent to log in) or 'denied'."""
    if response.status_code == 403:
        return "denied"
    if response.status_code == 302 and response["Location"].startswith(reverse("login")):
        return "login"
    # 400: the view was reached and rejected the (empty) form: access was granted.
    assert response.status_code in (200, 302, 400), f"unexpected {response.status_code} at {response.request}"
    return "allowed"


def test_every_url_pattern_has_an_entry():
    names = {name for name, _ in url_pattern_names() if not name.startswith(f"{ADMIN_NAMESPACE}:")}
    assert names - set(MATRIX) == set(), "URL patterns with no authorization-matrix entry"
    assert set(MATRIX) - names == set(), "matrix entries for URL patterns that no longer exist"


def test_the_matrix(matrix_world, client):
    requests, leaks = 0, []
    for name, checks in MATRIX.items():
        for check in checks:
            target = matrix_world.targets.get(check.target)
            url = url_for(name, target, check.kwargs, matrix_world)
            data = check.data(matrix_world, target) if callable(check.data) else check.data
            for role in ROLES:
                user = matrix_world.users[role]
                client.logout()
                if user is not None:
                    client.force_login(user)
                response = getattr(client, check.method.lower())(url, data)
                requests += 1
                got = outcome(response)
                if check.ends_at_login:
                    expected = "login"
                else:
                    expected = "allowed" if role in check.allowed else ("login" if user is None else "denied")
                if got != expected:
                    leaks.append(f"{check.method} {name} [{check.target or '-'}] as {role}: {got}, expected {expected}")
                elif got == "allowed" and role not in SEES_WHOLE_UNIVERSITY and response.status_code == 200:
                    body = response.content.decode(errors="ignore")
                    leaks += [f"{name} as {role} shows {text}" for text in check.must_not_show if text in body]
    print(f"authorization matrix: {requests} requests, {len(leaks)} mismatches")
    assert not leaks, "\n".join(leaks)


def test_the_admin_turns_away_everyone_but_the_administrator(matrix_world, client):
    admin_urls = []
    for name, pattern in url_pattern_names():
        if name.startswith(f"{ADMIN_NAMESPACE}:") and name != "admin:login" and not pattern.pattern.regex.groupindex:
            admin_urls.append(reverse(name))
    admin_urls.append(reverse("admin:members_member_change", args=[matrix_world.a1_members[0].pk]))
    assert len(admin_urls) > 5
    for role in ROLES:
        user = matrix_world.users[role]
        client.logout()
        if user is not None:
            client.force_login(user)
        for url in admin_urls:
            response = client.get(url)
            assert response.status_code == 302, (role, url)
            assert response["Location"].startswith(("/admin/login/", "/admin/")), (role, url)
            assert client.get(response["Location"], follow=True).resolver_match.url_name == "login", (role, url)
    client.force_login(matrix_world.admin)
    assert client.get(reverse("admin:index")).status_code == 200
