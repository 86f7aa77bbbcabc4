"""Forged ids on the tree pages: a general branch's secretary adjusts its own college's branches only.
A node of another college in the URL, or as the merge or move target in a form, is refused in Chinese
and changes nothing (the forged-id sweep's roles hold no tree permission, so the college's secretary is
tried here)."""

import datetime

import pytest
from django.urls import reverse

from members.models import Member, MemberTransfer, Organization
from partyscore.core.models import AuditEvent

TODAY = datetime.date.today().isoformat()


def state():
    return (
        list(Organization.objects.order_by("pk").values_list()),
        list(Member.objects.values_list("pk", "branch")),
        MemberTransfer.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize(
    ("name", "org"),
    [
        ("org_manage", "B1"),
        ("org_manage", "B"),
        ("org_manage", "A"),
        ("org_manage", "U"),
        ("org_add", "B"),
        ("org_add", "U"),
        ("org_add", "A1"),
    ],
)
def test_a_node_outside_the_college_in_the_url_is_refused(world, login, name, org):
    client = login(world.gb_secretary)
    before = state()
    url = reverse(name, args=[getattr(world, org).pk])
    for response in (
        client.get(url),
        client.post(
            url,
            {
                "action": "rename",
                "rename-name": "x",
                "rename-reason": "x",
                "name": "x",
                "code": "X",
                "category": "mixed",
                "reason": "x",
            },
        ),
    ):
        assert response.status_code == 403 and "无权" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("target", ["B1", "A", "U"])
def test_a_merge_target_outside_the_college_in_a_form_is_not_a_choice(world, login, target):
    client = login(world.gb_secretary)
    before = state()
    forged = {
        "action": "merge",
        "merge-target": getattr(world, target).pk,
        "merge-merged_on": TODAY,
        "merge-reason": "x",
    }
    response = client.post(reverse("org_manage", args=[world.A1.pk]), forged)
    assert response.status_code == 400 and "invalid-feedback" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("parent", ["B", "U", "A"])
def test_a_move_is_refused_to_a_secretary_with_nowhere_in_scope_to_move_to(world, login, parent):
    client = login(world.gb_secretary)
    before = state()
    forged = {"action": "move", "move-new_parent": getattr(world, parent).pk, "move-reason": "x"}
    response = client.post(reverse("org_manage", args=[world.A1.pk]), forged)
    assert response.status_code == 403 and "无权访问" in response.content.decode()
    assert state() == before


def test_a_move_target_of_the_wrong_kind_is_not_a_choice(world, login):
    client = login(world.org_department)
    before = state()
    for forged in (world.U.pk, world.A2.pk, world.A.pk):
        response = client.post(
            reverse("org_manage", args=[world.A1.pk]), {"action": "move", "move-new_parent": forged, "move-reason": "x"}
        )
        assert response.status_code == 400 and "invalid-feedback" in response.content.decode()
    assert state() == before
