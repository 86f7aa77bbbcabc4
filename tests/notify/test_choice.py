"""Who gets what where: each person chooses their channels among those switched on, the deployment
routes kinds of notice, and with nothing configured notices are in-app and e-mail exactly as before."""

import pytest
from django.db import transaction
from django.urls import reverse

from partyscore.core.models import AuditEvent, Delivery, Notification
from partyscore.core.notifications import notify

from .test_channels import choose


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def send(users, template="测试通知", url="", params=None):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            notify(users, template, url, params)

    return send


def page(client):
    return client.get(reverse("notifications")).content.decode()


def test_nothing_configured_means_in_app_and_email_only_and_no_channel_form(world, login, send, mailoutbox):
    world.member.email = "m@example.edu.cn"
    world.member.notify_channels = ["wecom", "sms"]  # chosen once, but the deployment has them off
    world.member.wecom_userid = "zhangsan"
    world.member.save()
    send([world.member, world.secretary])
    assert [m.to for m in mailoutbox] == [["m@example.edu.cn"]]
    assert list(Delivery.objects.values_list("channel", "status")) == [("email", "sent")]
    assert Notification.objects.filter(message="测试通知").count() == 2
    html = page(login(world.member))
    assert "测试通知" in html and "channels_form" not in html and "企业微信" not in html


def test_a_person_chooses_wecom_with_their_account(world, login, wecom, send):
    wecom.users = {"zhangsan"}
    client = login(world.member)
    assert "企业微信账号" in page(client) and "钉钉账号" not in page(client)
    response = client.post(
        reverse("notifications"), {"channels_form": "1", "channels": ["wecom"], "wecom_userid": " zhangsan "}
    )
    assert response.status_code == 302
    world.member.refresh_from_db()
    assert world.member.notify_channels == ["wecom"] and world.member.wecom_userid == "zhangsan"
    assert AuditEvent.objects.filter(action="user.notify_channels", target_id=str(world.member.pk)).exists()
    send([world.member])
    assert len(wecom.sent) == 1 and wecom.sent[0]["touser"] == "zhangsan"


def test_a_channel_without_an_address_is_refused_and_the_input_kept(world, login, wecom, sms):
    client = login(world.member)
    response = client.post(reverse("notifications"), {"channels_form": "1", "channels": ["wecom"], "wecom_userid": ""})
    assert response.status_code == 400 and "请填写您的企业微信账号" in response.content.decode()
    response = client.post(
        reverse("notifications"), {"channels_form": "1", "channels": ["sms", "wecom"], "wecom_userid": "lisi"}
    )
    html = response.content.decode()
    assert response.status_code == 400 and "花名册中没有您的手机号" in html and 'value="lisi"' in html
    world.member.refresh_from_db()
    assert world.member.notify_channels == [] and world.member.wecom_userid == ""


def test_a_channel_the_deployment_has_off_cannot_be_chosen(world, login, wecom):
    response = login(world.member).post(reverse("notifications"), {"channels_form": "1", "channels": ["dingtalk"]})
    assert response.status_code == 400
    world.member.refresh_from_db()
    assert world.member.notify_channels == []


def test_someone_who_did_not_choose_a_channel_gets_nothing_there(world, wecom, sms, send):
    wecom.users = {"zhangsan"}
    choose(world.member, "wecom", wecom="zhangsan")
    world.secretary.wecom_userid = "lisi"  # an account, but not chosen
    world.secretary.save()
    send([world.member, world.secretary])
    assert [b["touser"] for b in wecom.sent] == ["zhangsan"] and sms.requests == []


def test_kinds_are_routed_by_the_deployment(world, wecom, sms, send, settings):
    settings.NOTIFY_CHANNELS_BY_KIND = {"待办提醒：%(lines)s": ["sms", "wecom"], "*": ["email"]}
    wecom.users = {"zhangsan"}
    world.member.email = "m@example.edu.cn"
    choose(world.member, "wecom", "sms", wecom="zhangsan", phone="13800138000")
    send([world.member], "测试通知")
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["email"]
    send([world.member], "待办提醒：%(lines)s", params={"lines": "提交自评"})
    routed = Delivery.objects.filter(notification__template="待办提醒：%(lines)s")
    assert set(routed.values_list("channel", flat=True)) == {"sms", "wecom"}
    assert sms.sent[0]["text"] == "待办提醒：提交自评"


def test_the_in_app_notice_survives_a_caller_that_commits_even_when_every_channel_fails(world, sms, send):
    choose(world.member, "sms", phone="12345")
    send([world.member])
    assert Delivery.objects.get().status == "failed"
    assert Notification.objects.get(user=world.member).text == "测试通知"


def test_the_organization_department_sees_failed_deliveries(world, login, sms, send):
    choose(world.member, "sms", phone="12345")
    send([world.member])
    client = login(world.org_department)
    assert "发送失败的通知" in page(client)
    html = client.get(reverse("delivery_failures")).content.decode()
    assert "12345" in html and "HTTP 400 invalid phone" in html and "测试通知" in html and "短信" in html
    assert "发送失败的通知" not in page(login(world.member))
    assert login(world.secretary).get(reverse("delivery_failures")).status_code == 403


@pytest.mark.parametrize("n", [3, 30])
def test_failed_deliveries_page_query_count(world, login, sms, send, django_assert_num_queries, n):
    choose(world.member, "sms", phone="12345")
    for i in range(n):
        send([world.member], f"通知{i}")
    client = login(world.org_department)
    client.get(reverse("delivery_failures"))
    with django_assert_num_queries(9):
        response = client.get(reverse("delivery_failures"))
    assert response.content.decode().count("HTTP 400 invalid phone") == n


def test_a_delivery_whose_task_was_lost_is_sent_by_the_sweep_once(
    world, sms, broker_down, send, django_capture_on_commit_callbacks
):
    import datetime

    from django.utils import timezone

    from partyscore.core.delivery import deliver, deliveries_resume

    choose(world.member, "sms", phone="13800138000")
    send([world.member])  # Redis is down: the request succeeds, the task is not sent
    row = Delivery.objects.get()
    assert row.status == "pending" and sms.requests == []
    broker_down()  # Redis is back
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_resume() == 0  # not yet stale: its task may still be on its way
    Delivery.objects.update(updated_at=timezone.now() - datetime.timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_resume() == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 1 and len(sms.sent) == 1
    assert deliver(delivery_id=row.pk, final=False) is None and len(sms.sent) == 1  # a twin sends nothing
