from celery import shared_task

from . import services


@shared_task(acks_late=True)
def role_permissions_sync_all():
    """Terms begin and end by the calendar: refresh everyone's permissions once a day."""
    services.role_permissions_sync_all()
