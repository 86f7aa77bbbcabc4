"""The login page names the university and offers 忘记密码: Django's reset by e-mail for an account
with an address (in Chinese), and whom to ask for one without."""

import re

from django.core import mail
from django.urls import reverse

from partyscore.core.models import AuditEvent
from tests.builders import PASSWORD

NEW_PASSWORD = "Xin@Mima-2026q"


def test_the_login_page_names_the_university_and_links_the_forgotten_password_page(db, client, settings):
    settings.UNIVERSITY_NAME = "中共测试大学"
    page = client.get(reverse("login")).content.decode()
    assert "中共测试大学" in page and reverse("password_reset") in page and "忘记密码" in page


def test_the_forgotten_password_page_says_whom_to_ask_without_an_email(db, client, settings):
    settings.ACCOUNT_HELP_CONTACT = "党委组织部 0571-1234"
    page = client.get(reverse("password_reset")).content.decode()
    assert "账号没有登记邮箱" in page and "支部的书记" in page and "0571-1234" in page


def test_an_account_with_an_email_resets_its_password_through_the_link(world, client):
    user = world.member
    user.email = "dangyuan@example.edu.cn"
    user.save(update_fields=["email"])
    response = client.post(reverse("password_reset"), {"email": "DangYuan@example.edu.cn"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dangyuan@example.edu.cn"] and "重设密码" in message.subject and "您好" in message.body
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert "设置新密码" in form_page.content.decode() and 'name="new_password1"' in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert AuditEvent.objects.filter(action="user.password_reset", actor=user).exists()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    # The link is spent.
    again = client.get(link, follow=True).content.decode()
    assert "该链接无效或已被使用" in again


def test_an_unknown_address_gets_the_same_answer_and_no_mail(world, client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_bad_address_is_refused_in_chinese_and_kept(db, client):
    response = client.post(reverse("password_reset"), {"email": "不是邮箱"})
    page = response.content.decode()
    assert response.status_code == 200 and "不是邮箱" in page and "有效" in page
