"""The one Celery app. Tasks take ids and call services; see settings for eager mode."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partyscore.settings.local")

app = Celery("partyscore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
