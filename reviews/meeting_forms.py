"""Forms of the meeting pages (the attendance sheet is read straight from its radio buttons)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from partyscore.core.forms import BootstrapForm
from scoring.forms import MultipleFileField
from scoring.models import MeetingKind


class MeetingForm(BootstrapForm):
    kind = forms.ChoiceField(label=_("会议类型"), choices=MeetingKind.choices)
    date = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    starts_at = forms.TimeField(label=_("开始时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    ends_at = forms.TimeField(label=_("结束时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    topic = forms.CharField(label=_("主题"), max_length=200)
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    expected = forms.ChoiceField(
        label=_("应到党员"),
        initial="branch",
        widget=forms.RadioSelect,
        choices=[("branch", _("全体党员（免于记分的除外）")), ("group", _("一个党小组")), ("chosen", _("选择党员"))],
    )
    party_group = forms.ChoiceField(label=_("党小组"), required=False)
    members = forms.ModelMultipleChoiceField(
        label=_("选择应到党员"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = members
        self.fields["members"].label_from_instance = lambda m: f"{m.name}（{m.number}）"
        self.fields["expected"].widget.attrs["class"] = "form-check-input"
        groups = sorted({m.party_group for m in members if m.party_group})
        self.fields["party_group"].choices = [("", _("（请选择）")), *((g, g) for g in groups)]
        if not groups:  # a branch without party groups is not offered them
            del self.fields["party_group"]
            self.fields["expected"].choices = [c for c in self.fields["expected"].choices if c[0] != "group"]

    def clean(self):
        """`whole_branch` and `members` as meeting_schedule takes them: a party group is its members
        (those not exempted from scoring) at the time of scheduling."""
        data = super().clean()
        expected = data.get("expected")
        data["whole_branch"] = expected == "branch"
        if expected == "group":
            group = data.get("party_group")
            data["members"] = [
                m for m in self.fields["members"].queryset if group and m.party_group == group and not m.exempt
            ]
            if not data["members"]:
                self.add_error("party_group", _("请选择有党员的党小组"))
        elif expected == "chosen" and not data.get("members"):
            self.add_error("members", _("请至少选择一名应到党员"))
        return data


class MeetingRecordForm(BootstrapForm):
    minutes = forms.CharField(
        label=_("会议记录"), required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 8})
    )
    files = MultipleFileField(label=_("照片或附件（图片或 PDF，可多选）"), required=False)
