from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("评议流程")

    def ready(self):
        from members.signals import role_assigned

        from .receivers import mass_representative_appointed

        role_assigned.connect(mass_representative_appointed, dispatch_uid="reviews.mass_representative_appointed")
