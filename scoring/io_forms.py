from django import forms
from django.utils.translation import gettext_lazy as _

from partyscore.core.forms import BootstrapForm

from .models import ExportJob


class ExportForm(BootstrapForm):
    """What to export: validated against the choices; the scope is checked by the service."""

    kind = forms.ChoiceField(label=_("导出内容"), choices=ExportJob.Kind.choices)
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)


class YearForm(BootstrapForm):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)


class CardUploadForm(BootstrapForm):
    file = forms.FileField(label=_("积分卡文件（.xlsx）"), widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}))
