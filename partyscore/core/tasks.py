"""The platform's scheduled and queued work: purges, and each notice's delivery through a channel."""

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True)
def access_log_purge():
    """Daily: delete security log rows older than SECURITY_LOG_RETENTION_DAYS."""
    from .access_log import access_log_purge as purge

    return purge()


@shared_task(acks_late=True)
def pending_uploads_purge():
    """Hourly: delete import files checked but never confirmed (partyscore.core.pending_upload)."""
    from .pending_upload import pending_uploads_purge as purge

    return purge()


@shared_task(bind=True, acks_late=True, max_retries=None)
def notification_deliver_task(self, delivery_id):
    """One notice through one channel; tried again with backoff while the service defers it, up to
    NOTIFY_MAX_RETRIES times, then recorded as failed."""
    from .delivery import deliver

    wait = deliver(delivery_id=delivery_id, final=self.request.retries >= settings.NOTIFY_MAX_RETRIES)
    if wait is None:
        return None
    if self.request.is_eager:  # no worker (tests, the embedded default): the next attempt follows at once
        return self.retry(countdown=wait, throw=False)
    raise self.retry(countdown=wait)


@shared_task(acks_late=True)
def notification_deliveries_resume_task():
    """Every 15 minutes: deliveries whose task was lost while the broker was down are sent again."""
    from .delivery import deliveries_resume

    return deliveries_resume()
