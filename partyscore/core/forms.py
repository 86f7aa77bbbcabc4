from django import forms
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .models import AccessLog


def _attributes(attrs):
    """Django's widgets/attrs.html in Python: False leaves an attribute out, True writes its name alone."""
    if not attrs:
        return ""  # most options: a quarter of the select's time when read through format_html_join
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


# Fixed markup, nothing of the user's in it.
_OPTGROUP_END, _SELECT_END = SafeString("\n  </optgroup>"), SafeString("\n</select>")


class Select(forms.Select):
    """Django's Select, the same HTML to the byte, written in Python instead of through its three
    templates (the select, then each option through select_option.html and attrs.html): the roster's
    three filters took 2.6 ms of CPU that way, the entry form's member and item lists half the page.
    tests/test_select_widget.py compares the two. A subclass adds attributes to an option in
    `option_attrs`."""

    def option_attrs(self, value):
        return {}

    def render(self, name, value, attrs=None, renderer=None):
        chosen, found = self.format_value(value), False
        parts = [format_html('<select name="{}"{}>', name, _attributes(self.build_attrs(self.attrs, attrs)))]
        for group_value, group_label in self.choices:
            group_value = "" if group_value is None else group_value
            grouped = isinstance(group_label, list | tuple)
            if grouped and group_value:
                parts.append(format_html('\n  <optgroup label="{}">', group_value))
            for option_value, label in group_label if grouped else [(group_value, group_label)]:
                selected = not found and str(option_value) in chosen
                found |= selected
                option = {"selected": True} if selected else {}
                option.update(self.option_attrs(option_value))
                parts.append(
                    format_html(
                        '\n  <option value="{}"{}>{}</option>\n', escape(option_value), _attributes(option), label
                    )
                )
            if grouped and group_value:
                parts.append(_OPTGROUP_END)
        parts.append(_SELECT_END)
        return format_html_join("", "{}", ((part,) for part in parts))


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
                if type(widget) is forms.Select:
                    quick = Select(attrs=widget.attrs, choices=widget.choices)
                    quick.is_required, quick.is_localized = widget.is_required, widget.is_localized
                    field.widget = widget = quick
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
