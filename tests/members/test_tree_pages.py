"""The tree pages: the tree shows what each may adjust and what is closed, the node page's four
forms, the add page, and the tree page's queries at two sizes."""

import datetime

import pytest
from django.urls import reverse

from members import services
from members.models import Member, Organization

TODAY = datetime.date.today()


def test_the_organization_department_reaches_every_adjustment_from_the_tree_in_one_click(world, login):
    page = login(world.org_department).get(reverse("org_tree")).content.decode()
    for org in (world.A, world.B, world.A1, world.A2, world.B1):
        assert reverse("org_manage", args=[org.pk]) in page
    assert reverse("org_manage", args=[world.U.pk]) not in page
    assert reverse("org_add", args=[world.U.pk]) in page and reverse("org_add", args=[world.A.pk]) in page
    assert reverse("tree_import") in page


def test_a_general_branch_secretary_sees_adjustments_of_its_own_branches_only(world, login):
    page = login(world.gb_secretary).get(reverse("org_tree")).content.decode()
    assert reverse("org_manage", args=[world.A1.pk]) in page
    assert reverse("org_manage", args=[world.A.pk]) not in page
    assert reverse("org_add", args=[world.A.pk]) in page and reverse("org_add", args=[world.U.pk]) not in page
    secretary_page = login(world.secretary).get(reverse("org_tree")).content.decode()
    assert "/manage/" not in secretary_page and reverse("tree_import") not in secretary_page


def test_renaming_on_the_node_page(world, login):
    client = login(world.gb_secretary)
    url = reverse("org_manage", args=[world.A1.pk])
    response = client.post(url, {"action": "rename", "rename-name": "甲一党支部", "rename-reason": "规范名称"})
    assert response.status_code == 302
    world.A1.refresh_from_db()
    assert world.A1.name == "甲一党支部"


def test_a_refusal_is_shown_in_chinese_and_keeps_what_was_typed(world, login):
    client = login(world.gb_secretary)
    response = client.post(
        reverse("org_manage", args=[world.A1.pk]),
        {"action": "rename", "rename-name": "甲二支部", "rename-reason": "我写的原因"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "“甲学院党委”下已有名为“甲二支部”的组织" in page and "我写的原因" in page


def test_closing_is_refused_while_members_remain_and_a_merge_moves_them(world, login):
    client = login(world.org_department)
    url = reverse("org_manage", args=[world.A2.pk])
    refused = client.post(url, {"action": "close", "close-closed_on": TODAY.isoformat(), "close-reason": "撤销"})
    assert refused.status_code == 400 and "还有 4 名党员" in refused.content.decode()
    merged = client.post(
        url,
        {
            "action": "merge",
            "merge-target": world.A1.pk,
            "merge-merged_on": TODAY.isoformat(),
            "merge-reason": "支部调整",
        },
    )
    assert merged.status_code == 302
    assert Member.objects.filter(branch=world.A1).count() == 8
    tree_page = client.get(reverse("org_tree")).content.decode()
    assert f"已撤销（{TODAY.isoformat()}）" in tree_page and reverse("org_manage", args=[world.A2.pk]) not in tree_page
    closed_page = client.get(url).content.decode()
    assert "已于" in closed_page and 'name="action"' not in closed_page


def test_moving_on_the_node_page_offers_only_the_other_general_branches(world, login):
    client = login(world.org_department)
    url = reverse("org_manage", args=[world.A1.pk])
    page = client.get(url).content.decode()
    assert f'<option value="{world.B.pk}">' in page and f'<option value="{world.A.pk}">' not in page
    assert client.post(url, {"action": "move", "move-new_parent": world.B.pk, "move-reason": "调整"}).status_code == 302
    world.A1.refresh_from_db()
    assert world.A1.parent == world.B


def test_a_forged_target_outside_ones_scope_is_not_a_choice(world, login):
    client = login(world.gb_secretary)
    response = client.post(
        reverse("org_manage", args=[world.A2.pk]),
        {"action": "merge", "merge-target": world.B1.pk, "merge-merged_on": TODAY.isoformat(), "merge-reason": "x"},
    )
    assert response.status_code == 400
    assert Member.objects.filter(branch=world.A2).count() == 4


def test_adding_a_branch_on_the_add_page(world, login):
    client = login(world.gb_secretary)
    url = reverse("org_add", args=[world.A.pk])
    assert "新增党支部" in client.get(url).content.decode()
    response = client.post(url, {"name": "甲三支部", "code": "A3", "category": "student", "reason": "新设"})
    assert response.status_code == 302
    added = Organization.objects.get(code="A3")
    assert added.parent == world.A and added.kind == "branch" and added.category == "student"
    again = client.post(url, {"name": "甲三支部", "code": "A4", "category": "student", "reason": "新设"})
    assert again.status_code == 400 and "已有名为“甲三支部”的组织" in again.content.decode()


def _grow(world, colleges):
    for c in range(colleges):
        college = services.organization_create(
            actor=world.admin, parent=world.U, name=f"增{c}学院", code=f"G{c}", kind="general_branch"
        )
        for b in range(3):
            services.organization_create(
                actor=world.admin, parent=college, name=f"增{c}-{b}支部", code=f"G{c}-{b}", kind="branch"
            )


@pytest.mark.parametrize("colleges", [1, 8])
def test_the_tree_page_queries_do_not_grow_with_the_tree(world, login, django_assert_num_queries, colleges):
    _grow(world, colleges)
    client = login(world.org_department)
    url = reverse("org_tree")
    client.get(url)  # warm the session
    with django_assert_num_queries(7):
        page = client.get(url).content.decode()
    assert page.count("/manage/") == 5 + 4 * colleges


def test_the_tree_lists_each_node_under_its_parent(world, login):
    page = login(world.org_department).get(reverse("org_tree")).content.decode()
    order = [page.index(f'data-org="{code}"') for code in ("U", "A", "A1", "A2", "B", "B1")]
    assert order == sorted(order)
