"""Every URL pattern × every role × own / same-branch / other-branch / other-college objects.

The expected outcomes are written out here by hand from the role descriptions, not derived from
the permission code. A URL pattern without an entry fails the suite. Every answer (page, workbook,
refusal) is searched for the other branch's and the other college's members and organizations; the
methods an entry checks are the only ones its URL may answer. The figures of the last run are in
test-artifacts/access-*.json and docs/security.md.
"""

from urllib.parse import urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from .chunks import parts
from .matrix.common import (
    A1_MANAGERS,
    COLLEGE_A,
    COMMITTEE,
    EVERYONE,
    LOGGED_IN,
    RECORDERS_A1,
    ROLES,
    SCHEME_MANAGERS,
    TWO_FACTOR,
    Check,
    branch_checks,
    entry_checks,
    member_checks,
    org_checks,
    scheme_checks,
)
from .matrix.scope import canaries, leaked, report
from .matrix.world import add_scoring, build_matrix_world  # noqa: F401 (other tests import add_scoring from here)

A1_APPOINTERS = {"secretary", "gb_secretary", "org_department"}

MATRIX = {
    "home": [Check(allowed=LOGGED_IN)],
    "login": [Check(allowed=EVERYONE), Check("POST", allowed=EVERYONE)],
    "logout": [Check("POST", ends_at_login=True)],
    "password_change": [Check(allowed=LOGGED_IN), Check("POST", allowed=LOGGED_IN)],
    # The forgotten-password pages are for everyone; a forged link only shows "invalid link".
    "password_reset": [Check(allowed=EVERYONE), Check("POST", allowed=EVERYONE, data={"email": "nobody@example.com"})],
    "password_reset_done": [Check(allowed=EVERYONE)],
    "password_reset_confirm": [
        Check(allowed=EVERYONE, kwargs=lambda t, w: {"uidb64": "MQ", "token": "forged"}),
        Check("POST", allowed=EVERYONE, kwargs=lambda t, w: {"uidb64": "MQ", "token": "x"}),
    ],
    "password_reset_complete": [Check(allowed=EVERYONE)],
    "login_two_factor": [Check(allowed=LOGGED_IN), Check("POST", allowed=LOGGED_IN, data={"token": "000000"})],
    "two_factor": [Check(allowed=TWO_FACTOR), Check("POST", allowed=TWO_FACTOR, data={"token": "000000"})],
    "two_factor_disable": [Check("POST", allowed=TWO_FACTOR, data={"token": "000000"})],
    "set_language": [Check("POST", allowed=EVERYONE, data={"language": "en", "next": "/"})],
    "org_tree": [Check(allowed=LOGGED_IN)],
    "member_list": org_checks(),
    "member_export": org_checks(),
    "member_detail": member_checks(),
    "member_exemption_request": member_checks(
        "POST",
        {"reason": "年老体弱"},
        own={"secretary", "org_department"},
        same={"secretary", "org_department"},
        college=COMMITTEE,
    ),
    "member_exemption_decide": member_checks(
        "POST", {"approve": "0", "reason": "不符合条件"}, own=COMMITTEE, same=COMMITTEE, college=COMMITTEE
    ),
    # Both rosters must be the actor's: a secretary of one branch has nowhere to move anyone.
    "member_transfer": [
        *member_checks(own=COMMITTEE, same=COMMITTEE, college=COMMITTEE),
        *member_checks("POST", own=COMMITTEE, same=COMMITTEE, college=COMMITTEE),
    ],
    # Whoever manages the member's roster: the branch secretary, the organization department.
    "member_edit": [
        *member_checks(own=A1_MANAGERS, same=A1_MANAGERS, college=COMMITTEE),
        *member_checks("POST", own=A1_MANAGERS, same=A1_MANAGERS, college=COMMITTEE),
    ],
    # POSTed without a reason: refused after the permission check, so no password changes mid-matrix.
    "member_password_reset": member_checks("POST", own=A1_MANAGERS, same=A1_MANAGERS, college=COMMITTEE),
    "member_status": [
        *member_checks(own=A1_MANAGERS, same=A1_MANAGERS, college=COMMITTEE),
        *member_checks("POST", own=A1_MANAGERS, same=A1_MANAGERS, college=COMMITTEE),
    ],
    # Seen by whoever sees the roster; a college appoints its branches' secretaries, a branch secretary
    # staffs the branch, the organization department appoints anyone (the general-branch secretary too).
    "org_roles": [
        *org_checks(),
        Check("POST", "own_branch", A1_APPOINTERS),
        Check("POST", "other_branch", COLLEGE_A),
        Check("POST", "other_college", COMMITTEE),
        Check("POST", "own_college", COMMITTEE),
        Check(
            "POST",
            "own_branch",
            A1_APPOINTERS,
            lambda w, t: {"action": "revoke", "assignment": w.panel.role_assignments.get().pk, "reason": ""},
        ),
    ],
    # The tree (members/tree.py): adjusted at a node by whoever holds manage_tree at its parent, so a
    # general branch's secretary adjusts its own branches and the organization department everything
    # below the committee; a node is added below the committee only by the organization department.
    "org_manage": [
        check
        for method in ("GET", "POST")
        for check in (
            Check(method, "own_branch", COLLEGE_A),
            Check(method, "other_branch", COLLEGE_A),
            Check(method, "other_college", COMMITTEE),
            Check(method, "own_college", COMMITTEE),
        )
    ],
    "org_add": [
        check
        for method in ("GET", "POST")
        for check in (
            Check(method, "own_college", COLLEGE_A),
            Check(method, "other_college", COMMITTEE, kwargs=lambda t, w: {"org_id": w.B.pk}),
            Check(method, "own_college", COMMITTEE, kwargs=lambda t, w: {"org_id": w.U.pk}),
            Check(method, "own_branch", set()),
        )
    ],  # a branch holds no node below it
    "tree_import": [Check(allowed=COLLEGE_A), Check("POST", allowed=COLLEGE_A)],
    "tree_import_confirm": [Check("POST", allowed=COLLEGE_A, data={"token": "none"})],
    "tree_template": [Check(allowed=COLLEGE_A)],
    "exemption_queue": [Check(allowed=COMMITTEE)],
    "roster_import": [Check(allowed=A1_MANAGERS), Check("POST", allowed=A1_MANAGERS)],
    "roster_import_confirm": [Check("POST", allowed=A1_MANAGERS, data={"token": "none"})],
    "roster_template": [Check(allowed=A1_MANAGERS)],
    "audit_list": [Check(allowed=COMMITTEE)],
    "access_log": [Check(allowed=COMMITTEE)],
    "two_factor_requirements": [
        Check(allowed=COMMITTEE),
        Check("POST", allowed=COMMITTEE, data={"roles": [], "reason": ""}),
    ],
    "password_login_policy": [
        Check(allowed=COMMITTEE),
        Check("POST", allowed=COMMITTEE, data={"members_use_campus_login": "", "reason": ""}),
    ],
    "ledger": org_checks(),
    "entry_record": [
        *org_checks(own=RECORDERS_A1, college=COMMITTEE, committee=COMMITTEE)[:3],
        Check("GET", "own_college", set()),
        *org_checks("POST", own=RECORDERS_A1, college=COMMITTEE, committee=COMMITTEE)[:3],
    ],
    "entry_bulk": [
        *org_checks(own=RECORDERS_A1, college=COMMITTEE, committee=COMMITTEE)[:3],
        Check("GET", "own_college", set()),
        *org_checks("POST", own=RECORDERS_A1, college=COMMITTEE, committee=COMMITTEE)[:3],
    ],
    "entry_reverse": [*entry_checks(), *entry_checks("POST")],
    "points_card": member_checks(),
    "handbook": member_checks(),
    "board": branch_checks(),
    "board_visibility": branch_checks("POST", {"visible": "0"}, own=A1_MANAGERS, college=COMMITTEE),
    "scheme_list": [Check(allowed=LOGGED_IN)],
    "scheme_preset_load": [Check("POST", allowed=COMMITTEE, data={"preset": "B", "year": "2031"})],
    "scheme_detail": scheme_checks(),
    "scheme_transition": scheme_checks("POST", {"action": "submit"}, **SCHEME_MANAGERS),
    "scheme_edit": [*scheme_checks(**SCHEME_MANAGERS), *scheme_checks("POST", **SCHEME_MANAGERS)],
    "review_settings": [*scheme_checks(**SCHEME_MANAGERS), *scheme_checks("POST", **SCHEME_MANAGERS)],
    "item_new": [*scheme_checks(**SCHEME_MANAGERS), *scheme_checks("POST", **SCHEME_MANAGERS)],
    "item_edit": [
        check
        for method in ("GET", "POST")
        for check in scheme_checks(
            method, **SCHEME_MANAGERS, kwargs=lambda s, w: {"scheme_id": s.pk, "item_id": s.items.first().pk}
        )
    ],
    "rule_new": [*scheme_checks(**SCHEME_MANAGERS), *scheme_checks("POST", **SCHEME_MANAGERS)],
    "rule_edit": [
        check
        for method in ("GET", "POST")
        for check in scheme_checks(
            method, **SCHEME_MANAGERS, kwargs=lambda s, w: {"scheme_id": s.pk, "rule_id": s.outcome_rules.first().pk}
        )
    ],
    "scheme_part_remove": scheme_checks(
        "POST",
        **SCHEME_MANAGERS,
        kwargs=lambda s, w: {"scheme_id": s.pk, "part": "item", "part_id": s.items.first().pk},
    ),
    "cycle_list": [Check(allowed=COMMITTEE), Check("POST", allowed=COMMITTEE)],
    "cycle_semesters": [
        Check(
            "POST",
            "cycle",
            COMMITTEE,
            lambda w, cycle: {
                f"cycle{cycle.pk}-second_semester_starts": f"{cycle.year}-09-01",
                f"cycle{cycle.pk}-reason": "",
            },
        )
    ],
    "period_lock": [Check("POST", "period", COMMITTEE, {"action": "reopen", "reason": ""})],
    "deadlines": [
        Check(allowed=LOGGED_IN),
        Check(
            "POST",
            allowed=COMMITTEE,
            data=lambda w, t: {"organization": w.U.pk, "code": "A-MEETING", "due_on": "bad", "reason": ""},
        ),
        Check(
            "POST",
            allowed={"gb_secretary"},
            data=lambda w, t: {"organization": w.A.pk, "code": "A-MEETING", "due_on": "bad", "reason": ""},
        ),
    ],
}


def _merge_parts():
    """Each capability keeps its own entries in tests/matrix/; all of them must be here."""
    from tests.matrix.api import API_MATRIX
    from tests.matrix.dashboards import DASHBOARDS_MATRIX
    from tests.matrix.evidence import EVIDENCE_MATRIX
    from tests.matrix.io import IO_MATRIX
    from tests.matrix.meetings import MEETINGS_MATRIX
    from tests.matrix.reviews import REVIEWS_MATRIX

    for part in (IO_MATRIX, REVIEWS_MATRIX, DASHBOARDS_MATRIX, EVIDENCE_MATRIX, MEETINGS_MATRIX, API_MATRIX):
        overlap = set(part) & set(MATRIX)
        assert not overlap, f"duplicate matrix entries: {overlap}"
        MATRIX.update(part)


_merge_parts()

# The admin is for the system administrator only; every role here is turned away from all of it.
ADMIN_NAMESPACE = "admin"


def url_pattern_names(patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_pattern_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}", pattern


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    """The world's evidence files go to a temporary directory, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def matrix_world(db):
    return build_matrix_world()


URL_KWARG = {
    "Member": "member_id",
    "Organization": "org_id",
    "Scheme": "scheme_id",
    "LedgerEntry": "entry_id",
    "Period": "period_id",
    "Objection": "objection_id",
    "Publicity": "publicity_id",
    "Pledge": "pledge_id",
    "FulfilmentReport": "report_id",
    "Declaration": "declaration_id",
    "Determination": "determination_id",
    "FollowUp": "follow_up_id",
    "Rollover": "rollover_id",
    "Cycle": "cycle_id",
}


def url_for(name, target, kwargs=None, world=None):
    if kwargs is not None:
        return reverse(name, kwargs=kwargs(target, world))
    if target is None:
        return reverse(name)
    return reverse(name, kwargs={URL_KWARG[target.__class__.__name__]: target.pk})


def sent_to_login(response):
    """The login page for a page; 401 (log in first) for the API."""
    if response.status_code == 401 and response.request["PATH_INFO"].startswith("/api/"):
        return True
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def outcome(response):
    """'allowed', 'login' (sent to log in) or 'denied'."""
    if response.status_code == 403:
        return "denied"
    if sent_to_login(response):
        return "login"
    # 400: the view was reached and rejected the (empty) form: access was granted.
    assert response.status_code in (200, 302, 400), f"unexpected {response.status_code} at {response.request}"
    return "allowed"


def uncovered_url_names():
    names = {name for name, _ in url_pattern_names() if not name.startswith(f"{ADMIN_NAMESPACE}:")}
    return names - set(MATRIX), set(MATRIX) - names


def test_every_url_pattern_has_an_entry():
    uncovered, stale = uncovered_url_names()
    assert uncovered == set(), "URL patterns with no authorization-matrix entry"
    assert stale == set(), "matrix entries for URL patterns that no longer exist"


def expected_outcome(check, role, user):
    if check.ends_at_login:
        return "login"
    return "allowed" if role in check.allowed else ("login" if user is None else "denied")


def log_in_as(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)


# The matrix runs in parts (each with its own world) that the workers share out.
MATRIX_PARTS = 12


def matrix_cases():
    """(URL name, check) for every check of every entry; each part sends its share as every role."""
    return [(name, check) for name, checks in MATRIX.items() for check in checks]


@parts(MATRIX_PARTS)
def test_the_matrix(part, matrix_world, client):
    requests, mismatches, leaks, controls = 0, [], [], 0
    out_of_scope = canaries(matrix_world)
    outside_a1 = out_of_scope["member"]
    for name, check in part.of(matrix_cases()):
        target = matrix_world.targets.get(check.target)
        url = url_for(name, target, check.kwargs, matrix_world)
        data = check.data(matrix_world, target) if callable(check.data) else check.data
        for role in ROLES:
            user = matrix_world.users[role]
            log_in_as(client, user)
            response = getattr(client, check.method.lower())(url, data)
            requests += 1
            got, expected = outcome(response), expected_outcome(check, role, user)
            where = f"{check.method} {name} [{check.target or '-'}] as {role}"
            if got != expected:
                mismatches.append(f"{where}: {got}, expected {expected}")
            # Whatever the answer (a page, a workbook, a refusal), nothing outside the role's scope.
            found = leaked(response, outside_a1)
            leaks += [f"{where} hands over {text}" for text in found if text in out_of_scope[role]]
            # The control: the canaries do show where they belong, so their absence elsewhere means something.
            if role == "org_department" and found:
                controls += 1
    uncovered, _ = uncovered_url_names()
    report(
        f"matrix-{part}",
        url_patterns=len(MATRIX),
        requests=requests,
        mismatches=len(mismatches),
        leaks=len(leaks),
        uncovered_urls=len(uncovered),
        control_responses_with_canaries=controls,
    )
    assert not mismatches + leaks, "\n".join(mismatches + leaks)
    # Over 50 in all; every part's share must show canaries too.
    assert controls > 50 / part.count, "the organization department's pages and files should name the other branches"


METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def accepted_methods(checks):
    """The methods a URL answers, by its entry: those its checks send, and HEAD wherever GET is answered."""
    methods = {check.method for check in checks}
    return methods | {"HEAD"} if "GET" in methods else methods


def send(client, method, url, data):
    if method in ("GET", "HEAD", "POST"):
        return getattr(client, method.lower())(url, data)
    # The form's fields, form-encoded, as a forged request would carry them.
    return client.generic(method, url, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded")


def method_probes():
    """Two lists of (role, URL name, method, check). A refused method is refused before any permission is
    looked at, so it is sent as anonymous, as the organization department (whom no permission stops) and
    as the first role the URL's first check lets in. HEAD is sent to each page's first GET check as
    anonymous, as the first role it lets in and as the first logged-in role it turns away."""
    refused, heads = [], []
    for name, checks in MATRIX.items():
        first = checks[0]
        for method in sorted(METHODS - accepted_methods(checks)):
            for role in {"anonymous", "org_department", *[r for r in ROLES if r in first.allowed][:1]}:
                refused.append((role, name, method, first))
        page = next((check for check in checks if check.method == "GET"), None)
        if page is not None:
            allowed = [r for r in ROLES if r in page.allowed][:1]
            turned_away = [r for r in ROLES if r not in page.allowed and r != "anonymous"][:1]
            heads += [(role, name, "HEAD", page) for role in {"anonymous", *allowed, *turned_away}]
    by_role = ROLES.index
    return sorted(refused, key=lambda p: by_role(p[0])), sorted(heads, key=lambda p: by_role(p[0]))


def test_every_other_http_method(matrix_world, client):
    """Each URL answers only the methods its entry checks. Any other one (PUT, PATCH, DELETE, OPTIONS, POST
    to a page, GET to an action) gets 405 naming the accepted methods, or the login page when anonymous,
    and writes nothing; HEAD answers as GET does."""
    requests, mismatches, leaks = 0, [], []
    out_of_scope = canaries(matrix_world)

    def run(probes):
        nonlocal requests
        logged_in_as = object()
        for role, name, method, check in probes:
            user = matrix_world.users[role]
            if role != logged_in_as:
                log_in_as(client, user)
                logged_in_as = role
            target = matrix_world.targets.get(check.target)
            url = url_for(name, target, check.kwargs, matrix_world)
            data = check.data(matrix_world, target) if callable(check.data) else check.data
            response = send(client, method, url, data)
            requests += 1
            where = f"{method} {name} [{check.target or '-'}] as {role}"
            accepted = accepted_methods(MATRIX[name])
            if method in accepted:  # HEAD to a page
                got, expected = outcome(response), expected_outcome(check, role, user)
                if got != expected:
                    mismatches.append(f"{where}: {got}, expected {expected}")
            elif response.status_code == 405:
                allow = set(response["Allow"].split(", "))
                if allow != accepted:
                    mismatches.append(f"{where}: 405 allows {sorted(allow)}, the matrix checks {sorted(accepted)}")
            elif not (user is None and sent_to_login(response)):
                mismatches.append(f"{where}: {response.status_code}, expected 405")
            leaks.extend(f"{where} hands over {text}" for text in leaked(response, out_of_scope[role]))

    refused, heads = method_probes()
    rows = audit_and_ledger_rows()
    run(refused)
    assert audit_and_ledger_rows() == rows, "a refused method wrote ledger or audit rows"
    run(heads)  # after: HEAD runs the page as GET does, and an export may audit itself
    report("methods", requests=requests, mismatches=len(mismatches), leaks=len(leaks))
    assert not mismatches + leaks, "\n".join(mismatches + leaks)


def audit_and_ledger_rows():
    from partyscore.core.models import AuditEvent
    from scoring.models import LedgerEntry

    return AuditEvent.objects.count() + LedgerEntry.objects.count()


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
