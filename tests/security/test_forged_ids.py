"""Forged ids in URLs and forms never reach another branch's objects.

A branch secretary, a plain member and a panelist of A1 take a request they could send about their
own branch and swap one id, in the URL or in a form field, for the id of an object in another branch
or college, an id that does not exist, zero, a negative, a huge number or a string. The answer must
be a refusal (400, 403 or 404) with a Chinese message, never a 500; it must hand over nothing of the
other branch or college; and the database must not change. Every URL id and form id is tried with
every foreign object (exhaustively), then hypothesis draws the odd values.
"""

import datetime
import re
from urllib.parse import quote

import pytest
from django.apps import apps
from django.urls import NoReverseMatch, resolve, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chunks import parts
from tests.matrix.scope import canaries, leaked, report
from tests.matrix.world import build_matrix_world
from tests.test_authorization_matrix import MATRIX, url_for

ROLES = ("secretary", "member", "panel")
# Targets that are the acting role's own branch (or shared, like the period): the honest request.
OWN_TARGETS = {
    "own_branch",
    "self",
    "same_branch",
    "own_entry",
    "own_branch_scheme",
    "period",
    "export_job",
    "own_objection",
    "own_publicity",
    "own_pledge",
    "own_fulfilment",
    "own_declaration",
    "own_determination",
    "own_follow_up",
    "own_spot_check",
    "rollover",
    "own_entry_evidence",
    "own_self_claim",
}
PLACEHOLDERS = (7777777, 2999)  # stand for the forged id (or year) while the URL is built; no object has them
CHINESE_REFUSAL = {400: ("请求无效", "invalid-feedback", "alert-danger"), 403: ("无权访问",), 404: ("页面不存在",)}
NOT_COMPARED = {"partyscore.AccessLog"}  # the security log records the refusals themselves
SHARED = {"period_id", "period", "rollover_id", "year"}  # the whole university's: no other branch's to forge


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def world(db):
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from reviews.models import FollowUp
    from scoring.models import ExportJob

    world = build_matrix_world()
    # The matrix has no far export job or follow-up: add one in the other college.
    job = ExportJob(
        owner=world.org_department,
        kind=ExportJob.Kind.BOARD,
        organization=world.B1,
        year=world.targets["period"].cycle.year,
        status=ExportJob.Status.DONE,
        progress=100,
        filename="board.xlsx",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    job.file.save("board.xlsx", ContentFile(b"PK"), save=False)
    job.save()
    world.targets["far_export_job"] = job
    world.targets["far_follow_up"] = FollowUp.objects.create(
        member=world.b1_members[1],
        determination=world.targets["far_determination"],
        kind="talk_secretary",
        rule_code="A-YELLOW",
        reason="黄色预警",
        responsible=world.B1,
        due_on=datetime.date(2099, 12, 31),
    )
    return world


def foreign_ids(world):
    """URL kwarg / form field → ids of objects in another branch or college."""
    t = world.targets
    far_schemes = (t["other_branch_scheme"], t["other_college_scheme"])
    items = [s.items.first().pk for s in far_schemes]
    members = [world.a2_members[0].pk, world.b1_members[0].pk]
    return {
        "org_id": [world.A2.pk, world.B1.pk, world.B.pk],
        "organization": [world.A2.pk, world.B1.pk, world.B.pk],
        "org": [world.A2.pk, world.B1.pk],
        "owner": [world.A2.pk, world.B1.pk],
        "member_id": members,
        "member": members,
        "entry_id": [t["other_branch_entry"].pk, t["other_college_entry"].pk],
        "entry": [t["other_branch_entry"].pk, t["other_college_entry"].pk],
        "scheme_id": [s.pk for s in far_schemes],
        "item_id": items,
        "part_id": items,
        "item": items,
        "rule_id": [s.outcome_rules.first().pk for s in far_schemes],
        "objection_id": [t["far_objection"].pk],
        "publicity_id": [t["far_publicity"].pk],
        "publicity": [t["far_publicity"].pk],
        "pledge_id": [t["far_pledge"].pk],
        "pledge": [t["far_pledge"].pk],
        "report_id": [t["far_fulfilment"].pk],
        "declaration_id": [t["far_declaration"].pk],
        "declaration": [t["far_declaration"].pk],
        "determination_id": [t["far_determination"].pk],
        "determination": [t["far_determination"].pk],
        "spot_check_id": [t["far_spot_check"].pk],
        "job_id": [t["far_export_job"].pk],
        "follow_up_id": [t["far_follow_up"].pk],
        "assignment": [world.gb_secretary.role_assignments.get().pk, world.org_department.role_assignments.get().pk],
        "to_branch": [world.A2.pk, world.B1.pk, world.B.pk],
        "evidence_id": [t["other_branch_entry_evidence"].pk, t["other_college_entry_evidence"].pk],
        "claim_id": [t["far_self_claim"].pk],
        "attachment_id": [t["far_objection_file"].pk],
    }


def url_slots(world):
    """(URL name, method, base kwargs, form data, kwarg to forge) for every id in every honest request."""
    slots = []
    for name, checks in MATRIX.items():
        seen = set()
        for check in checks:
            if check.target not in OWN_TARGETS or (check.method, check.target) in seen:
                continue
            seen.add((check.method, check.target))
            target = world.targets[check.target]
            kwargs = resolve(url_for(name, target, check.kwargs, world)).kwargs
            data = check.data(world, target) if callable(check.data) else check.data
            slots += [
                (name, check.method, kwargs, data, key) for key, value in kwargs.items() if isinstance(value, int)
            ]
    return slots


def form_slots(world):
    """(URL name, method, URL kwargs, honest form data, field to forge): every form field that takes an id."""
    t = world.targets
    a1 = world.A1.pk
    own_item = t["own_branch_scheme"].items.get(code="A-C02").pk
    period = t["period"].pk
    today = datetime.date.today().isoformat()
    entry = {
        "member": world.a1_members[3].pk,
        "item": own_item,
        "period": period,
        "points": "1",
        "occurred_on": today,
        "reason": "志愿服务",
    }
    objection = {"member": world.a1_members[4].pk, "reason": "分值偏低"}
    slots = [("entry_record", "POST", {"org_id": a1}, entry, field) for field in ("member", "item", "period")]
    slots += [
        ("declaration_new", "POST", {}, {"item": own_item, "period": period, "points": "1", "reason": "x"}, field)
        for field in ("item", "period")
    ]
    slots += [
        ("fulfilment_new", "POST", {}, {"period": period, "content": "践诺"}, "period"),
        ("my_pledges", "POST", {}, {"pledge": t["own_pledge"].pk, "kind": "vanguard", "content": "x"}, "pledge"),
        (
            "branch_action",
            "POST",
            {"org_id": a1, "action": "annual-report"},
            {"member": world.a1_members[3].pk, "summary": "x"},
            "member",
        ),
        (
            "branch_action",
            "POST",
            {"org_id": a1, "action": "period-reopen"},
            {"period": period, "days": "7", "reason": "x"},
            "period",
        ),
        (
            "deadlines",
            "POST",
            {},
            {"organization": a1, "code": "A-MEETING", "due_on": today, "reason": "x"},
            "organization",
        ),
        ("dashboard_drill", "GET", {"org_id": a1}, {"metric": "scored", "org": a1}, "org"),
    ]
    slots += [
        (
            "scheme_transition",
            "POST",
            {"scheme_id": t["reference_scheme"].pk},
            {"action": "derive", "owner": a1},
            "owner",
        )
    ]
    slots += [
        (
            "branch_action",
            "POST",
            {"org_id": a1, "action": "reopen"},
            {"member": world.a1_members[3].pk, "period": period, "days": "7", "reason": "x"},
            field,
        )
        for field in ("member", "period")
    ]
    slots += [
        ("org_roles", "POST", {"org_id": a1}, {"action": "revoke", "assignment": 0, "reason": "x"}, "assignment"),
        (
            "member_transfer",
            "POST",
            {"member_id": world.a1_members[3].pk},
            {"to_branch": 0, "transferred_on": today, "reason": "x"},
            "to_branch",
        ),
    ]
    for method in ("GET", "POST"):
        slots += [("objection_new", method, {}, objection, "member")]
        slots += [
            ("objection_new", method, {}, {**objection, field: 0}, field)
            for field in ("entry", "declaration", "publicity", "determination")
        ]
    return slots


def fits(name, kwargs, key, value):
    try:
        reverse(name, kwargs={**kwargs, key: value})
    except NoReverseMatch:
        return False
    return True


def forged_request(client, slot, value):
    name, method, kwargs, data, key = slot
    if key in kwargs:
        placeholder = next(p for p in PLACEHOLDERS if fits(name, kwargs, key, p))
        url = reverse(name, kwargs={**kwargs, key: placeholder})
        url = url.replace(f"/{placeholder}/", f"/{quote(str(value), safe='')}/")
    else:
        url, data = reverse(name, kwargs=kwargs), {**data, key: value}
    return getattr(client, method.lower())(url, data)


def database_state():
    """Every row of the apps' models (the security log and login times aside), to compare before/after."""
    state = {}
    for app in ("members", "scoring", "reviews", "partyscore"):
        for model in apps.get_app_config(app).get_models():
            if model._meta.label not in NOT_COMPARED:
                fields = [f.attname for f in model._meta.concrete_fields if f.attname != "last_login"]
                state[model._meta.label] = list(model.objects.order_by("pk").values_list(*fields))
    return state


def refusal_problems(response, out_of_scope):
    """What is wrong with the answer to a forged id (nothing, for a proper refusal)."""
    problems = [f"hands over {text}" for text in leaked(response, out_of_scope)]
    if response.status_code not in CHINESE_REFUSAL:
        return [f"answered {response.status_code}", *problems]
    if response.get("Content-Type", "").startswith("application/json"):  # the API: {"detail": "…"}
        if not re.search("[\u4e00-\u9fff]", response.json().get("detail", "")):
            problems.append(f"{response.status_code} without a Chinese detail")
        return problems
    body = response.content.decode(errors="ignore")
    if not any(marker in body for marker in CHINESE_REFUSAL[response.status_code]) or not re.search(
        "[\u4e00-\u9fff]", body
    ):
        problems.append(f"{response.status_code} without a Chinese message")
    return problems


@parts(2)
def test_foreign_ids_in_urls_and_forms_are_refused(part, world, client):
    """Every slot with every foreign id as every role; the slots dealt out to parts that run side by side."""
    out_of_scope = canaries(world)
    foreign = foreign_ids(world)
    slots = url_slots(world) + form_slots(world)
    assert {slot[-1] for slot in slots} - SHARED <= set(foreign), "an id with no foreign object to try"
    assert len(ROLES) * sum(len(foreign.get(slot[-1], ())) for slot in slots) > 300
    before = database_state()
    failures, requests = [], 0
    for role in ROLES:
        client.force_login(world.users[role])
        for slot in part.of(slots):
            for value in foreign.get(slot[-1], ()):
                response = forged_request(client, slot, value)
                requests += 1
                failures += [
                    f"{role} {slot[1]} {slot[0]} {slot[-1]}={value}: {problem}"
                    for problem in refusal_problems(response, out_of_scope[role])
                ]
    report(f"forged-ids-{part}", requests=requests, slots=len(part.of(slots)), failures=len(failures))
    assert not failures, "\n".join(failures)
    assert database_state() == before


def is_a_number(text):
    try:
        int(text)
    except ValueError:
        return False
    return True


ODD_IDS = st.one_of(
    st.integers(min_value=10**6, max_value=2**31),  # no such object
    st.integers(max_value=0),  # zero and negatives, down to beyond any database integer
    st.integers(min_value=2**63, max_value=2**200),  # beyond any database integer
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
        lambda text: not is_a_number(text)
    ),  # "1", " 1", "1_0" and "١" are numbers to int(): real ids
)


def test_odd_ids_in_urls_and_forms_are_refused(world, client):
    out_of_scope = canaries(world)
    slots = url_slots(world) + form_slots(world)
    before = database_state()

    @settings(
        max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
    )
    @given(role=st.sampled_from(ROLES), slot=st.sampled_from(slots), value=ODD_IDS)
    def forged(role, slot, value):
        client.force_login(world.users[role])
        response = forged_request(client, slot, value)
        assert refusal_problems(response, out_of_scope[role]) == [], (role, slot[:2], slot[-1], value)
        assert database_state() == before

    forged()
