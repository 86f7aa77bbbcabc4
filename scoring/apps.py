import datetime

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("积分")

    def ready(self):
        from partyscore.core import notices

        from .models import Period

        # A period in a notice is named in each reader's language (第一季度, Q1).
        notices.register_param_kind(
            "period",
            notices.ParamKind(
                type=Period,
                encode=lambda p: [p.kind, p.index, p.starts_on.isoformat()],
                name=lambda v: Period(kind=v[0], index=v[1], starts_on=datetime.date.fromisoformat(v[2])).label,
            ),
        )
