"""Each channel against its service's local stub: token fetch and caching, the send call, an expired
token fetched again, a rate limit then success, a hard failure recorded while the in-app notice stays."""

import pytest
from django.core import mail
from django.db import transaction

from partyscore.core.models import Delivery, Notification
from partyscore.core.notifications import notify


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def send(users, template="测试通知", url="/notifications/"):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            notify(users, template, url)

    return send


def choose(user, *channels, wecom="", dingtalk="", phone=""):
    user.notify_channels, user.wecom_userid, user.dingtalk_userid = list(channels), wecom, dingtalk
    user.save()
    if phone:
        user.member.phone = phone
        user.member.save()


def delivery(user, channel):
    return Delivery.objects.get(notification__user=user, channel=channel)


# ── 企业微信 ─────────────────────────────────────────────────────────────────────────────────────


def test_wecom_fetches_a_token_once_and_sends_a_card_with_an_absolute_link(world, wecom, site, send):
    wecom.users = {"zhangsan"}
    choose(world.member, "wecom", wecom="zhangsan")
    send([world.member])
    send([world.member], "第二条通知", url="")
    assert len(wecom.calls("/cgi-bin/gettoken")) == 1  # kept in the cache until it expires
    card, text = wecom.sent
    assert card["touser"] == "zhangsan" and card["agentid"] == wecom.agent_id and card["msgtype"] == "textcard"
    assert card["textcard"]["description"] == "测试通知"
    assert card["textcard"]["url"] == "https://party.example.edu.cn/notifications/"
    assert text["msgtype"] == "text" and text["text"]["content"] == "第二条通知"
    row = Delivery.objects.get(notification__message="测试通知")
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None and row.address == "zhangsan"


def test_wecom_fetches_a_new_token_once_when_the_old_one_expired(world, wecom, site, send):
    wecom.users = {"zhangsan"}
    choose(world.member, "wecom", wecom="zhangsan")
    send([world.member])
    wecom.expire_tokens()
    send([world.member], "第二条通知")
    assert len(wecom.calls("/cgi-bin/gettoken")) == 2
    assert [r["body"]["textcard"]["description"] for r in wecom.calls("/cgi-bin/message/send")] == [
        "测试通知",
        "第二条通知",
        "第二条通知",
    ]  # refused with 42001, then sent with the new token
    assert Delivery.objects.filter(status="sent").count() == 2


def test_wecom_rate_limit_is_tried_again_until_it_goes_through(world, wecom, site, send):
    wecom.users = {"zhangsan"}
    wecom.rate_limited = 2
    choose(world.member, "wecom", wecom="zhangsan")
    send([world.member])
    row = delivery(world.member, "wecom")
    assert row.status == "sent" and row.attempts == 3 and row.last_error == ""
    assert len(wecom.sent) == 1


def test_wecom_rate_limit_that_never_ends_is_recorded_as_failed(world, wecom, site, send):
    wecom.users = {"zhangsan"}
    wecom.rate_limited = 100
    choose(world.member, "wecom", wecom="zhangsan")
    send([world.member])
    row = delivery(world.member, "wecom")
    assert row.status == "failed" and row.attempts == site.NOTIFY_MAX_RETRIES + 1 and "45009" in row.last_error
    assert Notification.objects.get(user=world.member).message == "测试通知"


def test_wecom_unknown_account_fails_at_once_and_the_notice_stays(world, wecom, site, send):
    choose(world.member, "wecom", wecom="nobody")
    send([world.member])
    row = delivery(world.member, "wecom")
    assert row.status == "failed" and row.attempts == 1 and "81013" in row.last_error
    assert Notification.objects.filter(user=world.member, message="测试通知").exists()


def test_wecom_wrong_secret_is_a_failure_not_an_error_page(world, wecom, site, send, settings):
    settings.WECOM_SECRET = "wrong"
    choose(world.member, "wecom", wecom="zhangsan")
    send([world.member])
    row = delivery(world.member, "wecom")
    assert row.status == "failed" and "gettoken" in row.last_error and "40001" in row.last_error
    assert wecom.calls("/cgi-bin/message/send") == []


# ── 钉钉 ─────────────────────────────────────────────────────────────────────────────────────────


def test_dingtalk_sends_a_work_notice_with_a_cached_token(world, dingtalk, site, send):
    choose(world.member, "dingtalk", dingtalk="manager4220")
    send([world.member])
    send([world.member], "第二条通知", url="")
    assert len(dingtalk.calls("/gettoken")) == 1
    card, text = dingtalk.sent
    assert card["agent_id"] == dingtalk.agent_id and card["userid_list"] == "manager4220"
    assert card["msg"]["msgtype"] == "action_card"
    assert card["msg"]["action_card"]["single_url"] == "https://party.example.edu.cn/notifications/"
    assert text["msg"] == {"msgtype": "text", "text": {"content": "第二条通知"}}
    assert list(Delivery.objects.values_list("status", flat=True)) == ["sent", "sent"]


def test_dingtalk_expired_token_then_qps_limit_then_sent(world, dingtalk, site, send):
    choose(world.member, "dingtalk", dingtalk="manager4220")
    send([world.member])
    dingtalk.expire_tokens()
    dingtalk.rate_limited = 1
    send([world.member], "第二条通知")
    assert len(dingtalk.calls("/gettoken")) == 2
    row = Delivery.objects.get(notification__message="第二条通知")
    assert row.status == "sent" and row.attempts == 2


def test_dingtalk_wrong_agent_is_recorded_as_failed(world, dingtalk, site, send, settings):
    settings.DINGTALK_AGENT_ID = "1"
    choose(world.member, "dingtalk", dingtalk="manager4220")
    send([world.member])
    row = delivery(world.member, "dingtalk")
    assert row.status == "failed" and row.attempts == 1 and "40056" in row.last_error
    assert Notification.objects.filter(user=world.member).count() == 1


# ── 短信 ─────────────────────────────────────────────────────────────────────────────────────────


def test_sms_goes_to_the_rosters_phone_with_the_key_and_the_link(world, sms, site, send):
    choose(world.member, "sms", phone="13800138000")
    send([world.member])
    (request,) = sms.calls("/send")
    assert request["headers"]["x-api-key"] == "sms-key"
    assert request["body"] == {"phone": "13800138000", "text": "测试通知 https://party.example.edu.cn/notifications/"}
    assert delivery(world.member, "sms").status == "sent"


def test_sms_429_is_tried_again(world, sms, site, send):
    sms.rate_limited = 1
    choose(world.member, "sms", phone="13800138000")
    send([world.member])
    row = delivery(world.member, "sms")
    assert row.status == "sent" and row.attempts == 2 and len(sms.sent) == 1


def test_sms_refused_number_is_not_tried_again(world, sms, site, send):
    choose(world.member, "sms", phone="12345")
    send([world.member])
    row = delivery(world.member, "sms")
    assert row.status == "failed" and row.attempts == 1 and row.last_error == "HTTP 400 invalid phone"
    assert len(sms.calls("/send")) == 1


def test_sms_wrong_key_is_recorded_as_failed(world, sms, site, send, settings):
    settings.SMS_API_KEY = "wrong"
    choose(world.member, "sms", phone="13800138000")
    send([world.member])
    assert delivery(world.member, "sms").last_error == "HTTP 401 unauthorized"


def test_gateway_that_is_down_is_tried_again_then_recorded(world, sms, site, send):
    choose(world.member, "sms", phone="13800138000")
    sms.stop()  # nothing listens on the port any more
    send([world.member])
    row = delivery(world.member, "sms")
    assert row.status == "failed" and row.attempts == site.NOTIFY_MAX_RETRIES + 1
    assert Notification.objects.filter(user=world.member).exists()


def test_a_failing_channel_does_not_stop_the_others(world, wecom, sms, site, send):
    world.member.email = "m@example.edu.cn"
    choose(world.member, "wecom", "sms", wecom="nobody", phone="13800138000")
    send([world.member])
    assert {d.channel: d.status for d in Delivery.objects.all()} == {"email": "sent", "wecom": "failed", "sms": "sent"}
    assert mail.outbox[-1].to == ["m@example.edu.cn"]
    assert mail.outbox[-1].body == "测试通知\nhttps://party.example.edu.cn/notifications/"
