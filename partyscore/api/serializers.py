"""What the API answers and accepts. Points travel as decimal strings ("85.5"), as the pages show them."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from scoring.points import format_points


class PointsField(serializers.CharField):
    """Centipoints (the ledger's unit) written as points: 8550 → "85.5"; null stays null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return None if value is None else format_points(value)


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    is_cadre = serializers.BooleanField()
    exempt = serializers.BooleanField()
    branch = serializers.CharField(source="branch.name")


class LineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    member = serializers.IntegerField(source="member_id")
    member_name = serializers.CharField(source="member.name")
    item_code = serializers.CharField(source="item.code")
    item = serializers.CharField(source="item.title")
    kind = serializers.CharField()
    period = serializers.CharField(source="period.__str__")
    points = PointsField()
    reason = serializers.CharField()
    source = serializers.CharField()
    occurred_on = serializers.DateField()
    recorded_at = serializers.DateTimeField()
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)
    reversed = serializers.BooleanField(source="is_reversed")


class OutcomeSerializer(serializers.Serializer):
    rule = serializers.CharField(source="rule.label")
    consequence = serializers.CharField()
    consequence_label = serializers.CharField(source="get_consequence_display")
    reason = serializers.CharField()


class TotalSerializer(serializers.Serializer):
    scored = serializers.BooleanField()
    total = PointsField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True)
    vetoed = serializers.BooleanField()
    base = PointsField()
    bonus = PointsField()
    penalty = PointsField()


class TodoSerializer(serializers.Serializer):
    what = serializers.CharField()
    url = serializers.CharField()
    when = serializers.DateField(allow_null=True)


class AssessmentSerializer(serializers.Serializer):
    period = serializers.IntegerField(source="period_id")
    period_label = serializers.CharField(source="period.__str__")
    status = serializers.CharField()
    self_score = PointsField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)


class CardMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    name = serializers.CharField()
    branch = serializers.CharField(source="branch.name")


class CardSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    member = CardMemberSerializer()
    total = TotalSerializer(allow_null=True)
    lines = LineSerializer(many=True)
    outcomes = OutcomeSerializer(many=True)
    todos = TodoSerializer(many=True)
    self_assessments = AssessmentSerializer(many=True)


class BranchTotalSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    number = serializers.CharField(source="member.number")
    name = serializers.CharField(source="member.name")
    scored = serializers.BooleanField()
    total = PointsField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True)
    vetoed = serializers.BooleanField()
    outcomes = OutcomeSerializer(many=True, source="shown_outcomes")


class ShareCheckSerializer(serializers.Serializer):
    rule = serializers.CharField()
    ok = serializers.BooleanField()


class BranchTotalsSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    branch = serializers.CharField()
    totals = BranchTotalSerializer(many=True)


# ── what callers send ──────────────────────────────────────────────────────────────────────────


class ClaimInSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1)
    points = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class SelfAssessmentInSerializer(serializers.Serializer):
    claims = ClaimInSerializer(many=True, max_length=200)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    submit = serializers.BooleanField(
        required=False, default=False, help_text=_("true 提交（提交后不能再改），false 保存草稿")
    )


class ObjectionInSerializer(serializers.Serializer):
    member = serializers.IntegerField(min_value=1, help_text=_("异议涉及的党员（本人，或群众代表所在支部的党员）"))
    reason = serializers.CharField(max_length=2000, allow_blank=True)
    entry = serializers.IntegerField(min_value=1, required=False)
    declaration = serializers.IntegerField(min_value=1, required=False)
    publicity = serializers.IntegerField(min_value=1, required=False)
    determination = serializers.IntegerField(min_value=1, required=False)


class ObjectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    member = serializers.IntegerField(source="member_id")
    status = serializers.CharField()
    reason = serializers.CharField()
    due_on = serializers.DateField()


class SignInSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=64, help_text=_("会场二维码中的签到码"))


class SignedInSerializer(serializers.Serializer):
    meeting = serializers.IntegerField(source="meeting_id")
    status = serializers.CharField()
    signed_in_at = serializers.DateTimeField()


class EntryInSerializer(serializers.Serializer):
    member = serializers.IntegerField(min_value=1)
    item = serializers.IntegerField(min_value=1)
    period = serializers.IntegerField(min_value=1)
    points = serializers.DecimalField(
        max_digits=6, decimal_places=2, min_value=0, help_text=_("分值（绝对值，加减由项目类别决定）")
    )
    reason = serializers.CharField(max_length=500, allow_blank=True)
    occurred_on = serializers.DateField(required=False)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.JSONField(required=False, help_text=_("各字段的错误（数据校验不通过时）"))
