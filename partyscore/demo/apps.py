from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo university (`manage.py seed_demo`, loaded by `make run` into an empty database).
    It builds a year through every app's services, so it stands above them all."""

    name = "partyscore.demo"
    label = "demo"
    verbose_name = _("演示数据")
