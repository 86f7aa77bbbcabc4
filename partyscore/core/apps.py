from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartyScoreConfig(AppConfig):
    name = "partyscore.core"
    label = "partyscore"  # the tables and migrations keep the name they were created under
    verbose_name = _("平台")

    def ready(self):
        from . import access_log, checks  # noqa: F401  (connects the sign-in signals, registers the check)
