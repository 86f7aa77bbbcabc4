from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    """The top of the house: the committee's and colleges' dashboards, boards, supervision and
    work reports, reading every app below and written to by none."""

    name = "partyscore.dashboards"
    label = "dashboards"
    verbose_name = _("数据看板")
