"""Forms of the meeting pages (the attendance sheet is read straight from its radio buttons)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from partyscore.forms import BootstrapForm
from scoring.forms import MultipleFileField
from scoring.models import MeetingKind


class MeetingForm(BootstrapForm):
    kind = forms.ChoiceField(label=_("会议类型"), choices=MeetingKind.choices)
    date = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    starts_at = forms.TimeField(label=_("开始时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    ends_at = forms.TimeField(label=_("结束时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    topic = forms.CharField(label=_("主题"), max_length=200)
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    whole_branch = forms.TypedChoiceField(
        label=_("应到党员"), coerce=lambda v: v == "1", initial="1", widget=forms.RadioSelect,
        choices=[("1", _("全体党员（免于记分的除外）")), ("0", _("选择党员"))])
    members = forms.ModelMultipleChoiceField(label=_("选择应到党员"), queryset=None, required=False,
                                             widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = members
        self.fields["members"].label_from_instance = lambda m: f"{m.name}（{m.number}）"
        self.fields["whole_branch"].widget.attrs["class"] = "form-check-input"

    def clean(self):
        data = super().clean()
        if data.get("whole_branch") is False and not data.get("members"):
            self.add_error("members", _("请至少选择一名应到党员"))
        return data


class MeetingRecordForm(BootstrapForm):
    minutes = forms.CharField(label=_("会议记录"), required=False, max_length=20000,
                              widget=forms.Textarea(attrs={"rows": 8}))
    files = MultipleFileField(label=_("照片或附件（图片或 PDF，可多选）"), required=False)
