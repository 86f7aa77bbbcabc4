"""Taking notices beyond the in-app list: one Delivery row and one Celery task per notice × channel.

`deliveries_plan` runs inside the caller's transaction, right after the notices are written, and
enqueues the sending once it commits; `deliver` is the task's body: one attempt, recorded. Nothing
here touches the notice itself, so a channel that fails never costs the person their in-app notice.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop, override

from . import channels, notices
from .models import Delivery
from .queue import enqueue
from .transitions import transition

SUBJECT = gettext_noop("【党员积分管理】%(message)s")
# A delivery still pending this long after it was written lost its task (the broker was down when
# the change committed): the sweep enqueues it again.
STALE_PENDING = datetime.timedelta(minutes=10)


def deliveries_plan(notifications):
    """A pending Delivery for each channel each notice takes; sent once the transaction commits."""
    rows = [
        Delivery(notification=n, channel=channel.name, address=address[:254])
        for n in notifications
        for channel, address in channels.channels_for(n.user, n.template)
    ]
    if not rows:
        return []
    Delivery.objects.bulk_create(rows)
    for row in rows:
        enqueue("partyscore.core.tasks.notification_deliver_task", row.pk)
    return rows


def message_for(notification):
    """The notice as sent: in the site's language (the reader's language is a per-session choice, and
    Chinese is what the in-app list shows first), with its link made absolute."""
    with override(settings.LANGUAGE_CODE):
        text = notification.text
        subject = notices.render(SUBJECT, {"message": text[:60]})
    link = ""
    if notification.url:
        link = notification.url if "://" in notification.url else settings.SITE_URL.rstrip("/") + notification.url
    return channels.Message(subject=subject, text=text, link=link)


def backoff(attempts):
    """Seconds before attempt `attempts + 1`: 30 s, 1 min, 2 min … at most an hour."""
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


def deliver(*, delivery_id, final):
    """One attempt at one delivery. Returns the seconds to wait before the next attempt, or None when
    there is none to make (sent, refused, or `final` and still failing)."""
    row = Delivery.objects.select_related("notification__user").filter(pk=delivery_id).first()
    if row is None or row.status in (Delivery.Status.SENT, Delivery.Status.FAILED):
        return None
    # Claim this attempt: a twin task (the sweep's, or one delivered again) that read the same row
    # finds the attempt taken and does nothing, so no message goes out twice.
    claimed = (
        Delivery.objects.filter(pk=row.pk, attempts=row.attempts)
        .exclude(status__in=[Delivery.Status.SENT, Delivery.Status.FAILED])
        .update(attempts=row.attempts + 1, updated_at=timezone.now())
    )
    if not claimed:
        return None
    channel = channels.CHANNELS.get(row.channel)
    row.attempts += 1
    wait = None
    try:
        if channel is None or not channel.enabled():
            raise channels.Refused("channel switched off")
        channel.send(row.address, message_for(row.notification))
    except channels.Deferred as error:
        row.last_error = str(error)[:300]
        if final:
            action = "fail"
        else:
            action, wait = "retry", error.countdown or backoff(row.attempts)
    except channels.Refused as error:
        action, row.last_error = "fail", str(error)[:300]
    else:
        action, row.last_error, row.sent_at = "send", "", timezone.now()
    with transaction.atomic():
        transition(row, action)
        row.save(update_fields=["attempts", "status", "last_error", "sent_at", "updated_at"])
    return wait


def deliveries_resume():
    """Scheduled: enqueue again the deliveries whose task never started. Returns how many."""
    stale = Delivery.objects.filter(
        status=Delivery.Status.PENDING, attempts=0, updated_at__lt=timezone.now() - STALE_PENDING
    )
    ids = list(stale.values_list("pk", flat=True))
    for pk in ids:
        enqueue("partyscore.core.tasks.notification_deliver_task", pk)
    return len(ids)
