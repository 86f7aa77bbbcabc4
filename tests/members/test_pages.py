import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from members.models import Member, User
from partyscore.core.models import AuditEvent
from tests.builders import PASSWORD, add_members


def test_login_is_by_staff_or_student_number_and_shows_chinese(world, client):
    page = client.get(reverse("login")).content.decode()
    assert "登录" in page and "学号/工号" in page
    response = client.post(reverse("login"), {"username": world.secretary.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    client.logout()
    bad = client.post(reverse("login"), {"username": world.secretary.username, "password": "wrong"})
    assert "学号/工号或密码不正确" in bad.content.decode()


def test_an_initial_password_must_be_changed_before_anything_else(world, client):
    user = world.member
    user.must_change_password = True
    user.save()
    client.force_login(user)
    assert client.get(reverse("home"))["Location"] == reverse("password_change")
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "Fresh!Pass2026", "new_password2": "Fresh!Pass2026"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    assert client.get(reverse("home")).status_code == 200
    assert AuditEvent.objects.filter(action="user.password_change", actor=user).exists()


def test_a_weak_new_password_is_refused_in_chinese(world, login):
    response = login(world.member).post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"}
    )
    assert response.status_code == 200
    assert "密码" in response.content.decode() and "常见" in response.content.decode()


def test_each_role_finds_its_own_work_on_the_home_page(world, login):
    secretary_home = login(world.secretary).get(reverse("home")).content.decode()
    assert "甲一支部 · 党支部书记" in secretary_home and reverse("roster_import") in secretary_home
    org_home = login(world.org_department).get(reverse("home")).content.decode()
    assert reverse("audit_list") in org_home and reverse("exemption_queue") in org_home
    member_home = login(world.member).get(reverse("home")).content.decode()
    assert "查看我的档案" in member_home and reverse("roster_import") not in member_home
    rep_home = login(world.mass_rep).get(reverse("home")).content.decode()
    assert "群众代表" in rep_home and reverse("member_list", args=[world.A1.pk]) not in rep_home


def test_member_list_searches_filters_and_paginates(world, login):
    add_members(world.A1, 60, start=100)
    Member.objects.filter(number="A1-00100").update(name="欧阳小明", is_cadre=True, category="student")
    client = login(world.secretary)
    url = reverse("member_list", args=[world.A1.pk])
    first = client.get(url)
    assert first.context["page"].paginator.count == 64 and len(first.context["page"]) == 50
    assert len(client.get(url, {"page": 2}).context["page"]) == 14
    assert [m.name for m in client.get(url, {"q": "欧阳"}).context["page"]] == ["欧阳小明"]
    assert [m.number for m in client.get(url, {"cadre": "1"}).context["page"]] == ["A1-00100"]
    assert client.get(url, {"category": "student"}).context["page"].paginator.count == 1
    partial = client.get(url, {"q": "欧阳"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "欧阳小明" in partial.content.decode()


def test_a_college_list_covers_its_branches_only(world, login):
    response = login(world.gb_secretary).get(reverse("member_list", args=[world.A.pk]))
    branches = {m.branch.code for m in response.context["page"]}
    assert branches == {"A1", "A2"}


def test_the_roster_export_holds_the_branch_only_and_is_audited(world, login):
    response = login(world.secretary).get(reverse("member_export", args=[world.A1.pk]))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(numbers) == sorted(m.number for m in world.a1_members)
    assert sheet["A1"].value == "学号/工号"
    assert AuditEvent.objects.filter(action="roster.export", actor=world.secretary).exists()


def test_the_member_profile_and_the_exemption_flow_through_the_pages(world, login):
    target = world.a1_members[3]
    page = login(world.member).get(reverse("member_detail", args=[world.member.member.pk])).content.decode()
    assert "甲一支部" in page and "申请免于记分" not in page
    client = login(world.secretary)
    client.post(reverse("member_exemption_request", args=[target.pk]), {"reason": "长期患病"})
    assert "待校党委审批" in client.get(reverse("member_detail", args=[target.pk])).content.decode()
    client = login(world.org_department)
    assert target.name in client.get(reverse("exemption_queue")).content.decode()
    client.post(reverse("member_exemption_decide", args=[target.pk]), {"approve": "1", "reason": ""})
    target.refresh_from_db()
    assert target.exempt


def test_an_empty_exemption_reason_is_refused_with_a_message(world, login):
    client = login(world.secretary)
    response = client.post(
        reverse("member_exemption_request", args=[world.a1_members[3].pk]), {"reason": ""}, follow=True
    )
    assert "请填写免于记分的原因" in response.content.decode()


def test_the_audit_log_page_shows_events(world, login):
    page = login(world.org_department).get(reverse("audit_list"), {"action": "role."}).content.decode()
    assert "role.assign" in page


def test_english_is_available(world, client):
    client.force_login(world.member)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert 'lang="en"' in page and "My points overview" in page


@pytest.mark.parametrize("size", [5, 40])
def test_member_list_query_count_does_not_grow_with_rows(world, login, django_assert_num_queries, size):
    add_members(world.A1, size, start=100, with_accounts=True)
    client = login(world.gb_secretary)
    url = reverse("member_list", args=[world.A.pk])
    client.get(url)  # warm the session
    with django_assert_num_queries(9):
        client.get(url)


def test_users_with_no_roles_and_no_record_are_told_whom_to_ask(db, client):
    user = User.objects.create_user("lonely", password=PASSWORD)
    client.force_login(user)
    page = client.get(reverse("home")).content.decode()
    assert "所在党支部或党委组织部" in page and reverse("scheme_list") in page


def test_with_an_organization_department_they_are_told_its_name_and_who_is_in_it(world, client):
    user = User.objects.create_user("lonely", password=PASSWORD)
    client.force_login(user)
    page = client.get(reverse("home")).content.decode()
    assert "测试大学党委组织部工作人员（org）" in page


def test_chinese_is_the_default_whatever_the_browser_asks_for(world, client):
    client.force_login(world.member)
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-hans"' in page and "我的档案" in page


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_each_roster_row_shows_the_member_as_the_record_says(world, login, language):
    """The roster's rows are read as values (members.selectors.roster_rows): each still shows what the
    member's record says, its labels in the reader's language."""
    member = world.A1.members.order_by("number").first()
    Member.objects.filter(pk=member.pk).update(
        exempt=True,
        exemption_reason="长期病休",
        is_cadre=True,
        status=Member.Status.PROBATIONARY,
        probation_start=datetime.date(2026, 6, 1),
    )
    member.refresh_from_db()
    client = login(world.gb_secretary)
    client.cookies["django_language"] = language
    page = client.get(reverse("member_list", args=[world.A.pk])).content.decode()
    with translation.override(language):
        cells = [
            f"<td>{member.number}</td>",
            f'<td><a href="{reverse("member_detail", args=[member.pk])}">{member.name}</a> '
            f'<span class="badge text-bg-secondary">{_("免于记分")}</span></td>',
            f'<td class="d-none d-md-table-cell">{member.branch.name}</td>',
            f"<td>{member.get_category_display()}</td>",
            f"<td>{member.get_status_display()}</td>",
            f'<td class="d-none d-md-table-cell">{_("是")}</td>',
        ]
    row = "\n      ".join(cells)
    assert row in page
