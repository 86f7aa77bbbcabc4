"""Notices (通知): `notify` writes each person's in-app notice and plans its other channels;
`notification_channels_set` is where a person chooses them; `unread_count` feeds the header.

Every app notifies through here, so the floor of the house owns them: the models, the channels
(partyscore/core/channels.py), the deliveries and their tasks (delivery.py, tasks.py) and the
sentences' encoding (notices.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import notices
from .audit import audit_record
from .channels import choosable_channels
from .delivery import deliveries_plan
from .exceptions import ApplicationError
from .models import Notification

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from django.contrib.auth.base_user import AbstractBaseUser


def notify(
    users: Iterable[AbstractBaseUser | None], template: str, url: str = "", params: dict[str, object] | None = None
) -> None:
    """In-app notice for each user now; through each other channel they chose (e-mail, WeCom,
    DingTalk, SMS: partyscore/core/channels.py) once the change commits, one recorded task per channel.
    `template` is a msgid (gettext_noop) and `params` its values (see partyscore/core/notices.py): each
    reader reads the notice in their own language; the message stored and sent is Chinese."""
    users = [u for u in users if u is not None]
    params = notices.encode(params)
    message = notices.source_text(template, params)
    created = Notification.objects.bulk_create(
        [Notification(user=u, message=message[:300], template=template, params=params, url=url) for u in users]
    )
    deliveries_plan(created)


@transaction.atomic
def notification_channels_set(
    *, user, channels: Collection[str], wecom_userid: str | None = None, dingtalk_userid: str | None = None
):
    """Each person chooses where else their notices reach them, among the channels the deployment
    switched on and for which they have an address (the phone number is the roster's)."""
    available = {c.name: c for c in choosable_channels()}
    if set(channels) - set(available):
        raise ApplicationError(_("所选通知渠道未开通"))
    before = {
        "notify_channels": user.notify_channels,
        "wecom_userid": user.wecom_userid,
        "dingtalk_userid": user.dingtalk_userid,
    }
    if wecom_userid is not None:
        user.wecom_userid = wecom_userid.strip()
    if dingtalk_userid is not None:
        user.dingtalk_userid = dingtalk_userid.strip()
    for name in channels:
        if not available[name].address(user):
            if name == "sms":
                raise ApplicationError(_("花名册中没有您的手机号，请联系支部书记填写后再选择短信"))
            raise ApplicationError(_("请填写您的%(channel)s账号") % {"channel": available[name].label})
    user.notify_channels = sorted(set(channels))
    user.save(update_fields=["notify_channels", "wecom_userid", "dingtalk_userid"])
    audit_record(
        actor=user,
        action="user.notify_channels",
        target=user,
        before=before,
        after={
            "notify_channels": user.notify_channels,
            "wecom_userid": user.wecom_userid,
            "dingtalk_userid": user.dingtalk_userid,
        },
    )
    return user


@transaction.atomic
def notifications_mark_read(*, actor: AbstractBaseUser, ids: Iterable[int] | None = None) -> int:
    """Reading one's own notices is not audited: it changes nothing anyone else sees."""
    unread = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def unread_count(*, user: AbstractBaseUser) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
