from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AccessLog


class BootstrapMixin:
    """Gives every widget the Bootstrap 5 class it needs, so templates stay plain."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class BootstrapForm(BootstrapMixin, forms.Form):
    pass


class AccessLogFilterForm(BootstrapForm):
    """The security log page's filters (all optional)."""

    kind = forms.ChoiceField(label=_("类别"), required=False)
    username = forms.CharField(label=_("用户名"), required=False, max_length=150)
    day_from = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    day_to = forms.DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("全部")), *AccessLog.Kind.choices]
