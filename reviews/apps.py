from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("评议流程")

    def ready(self):
        from members.signals import role_assigned
        from scoring.exports import BRANCH_WORKBOOK_SHEETS
        from scoring.selectors import POINTS_CARD_SECTIONS
        from scoring.services import SCHEME_COPY_EXTRAS

        from .grades import points_card_determination, write_grades_sheet
        from .meetings import points_card_meetings, write_meetings_sheet
        from .receivers import mass_representative_appointed
        from .services import review_settings_copy

        role_assigned.connect(mass_representative_appointed, dispatch_uid="reviews.mass_representative_appointed")
        # On the points card and as sheets of the branch workbook: the branch meeting's decision with the
        # member's grade, and the meetings the member was expected at.
        if write_meetings_sheet not in BRANCH_WORKBOOK_SHEETS:
            BRANCH_WORKBOOK_SHEETS.extend([write_grades_sheet, write_meetings_sheet])
            POINTS_CARD_SECTIONS.extend(
                [
                    ("reviews/determination_card.html", points_card_determination),
                    ("reviews/meeting_card.html", points_card_meetings),
                ]
            )
        # A derived scheme, a new version and next year's scheme keep the scheme's 评议流程设置.
        if review_settings_copy not in SCHEME_COPY_EXTRAS:
            SCHEME_COPY_EXTRAS.append(review_settings_copy)
