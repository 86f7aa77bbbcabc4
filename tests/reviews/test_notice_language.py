"""A notice reads in its reader's language, whoever caused it and in whatever language they worked;
the stored and e-mailed text is Chinese."""

import datetime

from django.core import mail
from django.urls import reverse
from django.utils import translation

from partyscore.core import notices
from partyscore.core.models import Notification
from reviews import services
from scoring.models import Period

from .pages import html
from .test_english_generated_text import english


def notices_page(client):
    return html(client.get(reverse("notifications")))


def test_a_notice_caused_in_english_is_stored_in_chinese_and_read_in_each_language(
    a_year, clock, login, django_capture_on_commit_callbacks
):
    w = a_year
    clock(3, 2)
    w.secretary.email, w.secretary.email_notifications = "sec@example.edu.cn", True
    w.secretary.save()
    member = w.m[3]
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):  # the member works in English
        pledge = services.pledge_save(
            actor=member.user, member=member, year=w.year, kind="vanguard", content="争做先锋"
        )
        services.pledges_submit(actor=member.user, member=member, year=w.year)
    stored = Notification.objects.get(user=w.secretary)
    assert stored.message == f"{member.name} 提交了承诺，请审核"
    assert mail.outbox[-1].subject == f"【党员积分管理】{member.name} 提交了承诺，请审核"
    assert f"{member.name} 提交了承诺，请审核" in notices_page(login(w.secretary))
    page = notices_page(english(login(w.secretary)))
    assert f"{member.name} submitted pledges; please review" in page and "提交了承诺" not in page

    # A label inside the sentence (the pledge's kind, the result) is translated too.
    pledge.refresh_from_db()
    services.pledge_decide(actor=w.secretary, pledge=pledge, approve=True)
    assert Notification.objects.get(user=member.user).message == "您的先锋承诺已通过审核"
    page = notices_page(english(login(member.user)))
    assert "Your Vanguard pledge has been approved" in page and "承诺" not in page


def test_periods_and_sentences_inside_a_notice_follow_the_reader():
    period = Period(kind="semester", index=1, starts_on=datetime.date(2030, 1, 1))
    params = notices.encode({"period": period, "until": datetime.date(2030, 7, 10)})
    template = "支部已为您开放%(period)s自查自评补交，截止 %(until)s"
    assert notices.source_text(template, params) == "支部已为您开放2030年第一学期自查自评补交，截止 2030-07-10"
    with translation.override("en"):
        assert "Semester 1, 2030" in notices.render(template, params)
    lines = [
        notices.Sentence(
            "%(title)s（%(due)s 截止，还有 %(n)s 天）",
            {"title": translation.gettext_lazy("提交承诺"), "due": "2030-03-31", "n": 3},
        )
    ] * 2
    digest = notices.encode({"lines": lines})
    assert notices.source_text("待办提醒：%(lines)s", digest) == (
        "待办提醒：提交承诺（2030-03-31 截止，还有 3 天）；提交承诺（2030-03-31 截止，还有 3 天）"
    )
    with translation.override("en"):
        text = notices.render("待办提醒：%(lines)s", digest)
    assert "截止" not in text and "提醒" not in text, text


def test_a_notice_whose_template_no_longer_fits_shows_as_stored(a_year):
    notice = Notification.objects.create(user=a_year.secretary, message="旧通知", template="%(gone)s 已删除", params={})
    assert notice.text == "旧通知"
