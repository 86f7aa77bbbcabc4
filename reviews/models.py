"""The review pipeline of both policies, every step a stateful object with its allowed moves.

Policy A (先锋亮绩、积分管理): 亮绩 pledge and self-assessment → 考绩 panel scoring → 评绩 mass
evaluation → 定绩 the branch meeting's determination. Policy B (亮化记分管理): pledges (共性, 岗位,
at least one 实事) with monthly fulfilment reports (践诺), member declarations (本人申报) verified,
publicized (公示) and confirmed, objections (异议) escalated to the organization department, a
year-end public report (述职). Both end in a determination, its publicity and follow-ups.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member, Organization
from scoring.models import AttendanceStatus, LedgerEntry, MeetingKind, Period, RuleItem, Scheme

USER = settings.AUTH_USER_MODEL


class ReviewSettings(models.Model):
    """How a scheme's pipeline runs; a scheme without a row uses the defaults. The committee fixes
    RESERVED for the schemes derived from its own; a college or branch chooses the others."""

    RESERVED = ("mass_min_answers", "publicity_days", "objection_answer_days")
    FIELDS = ("panel_combination", "declaration_verifier", "pledge_audience", *RESERVED)

    class PanelCombination(models.TextChoices):
        MEAN = "mean", _("取平均")
        MEDIAN = "median", _("取中位数")
        SECRETARY = "secretary", _("由支部书记确定")

    class Verifier(models.TextChoices):
        COMMITTEE = "committee", _("支委会")
        MEETING = "meeting", _("支部党员大会")

    class Audience(models.TextChoices):
        BRANCH = "branch", _("本支部")
        COLLEGE = "college", _("本学院（总支）")
        UNIVERSITY = "university", _("全校")

    scheme = models.OneToOneField(Scheme, on_delete=models.CASCADE, related_name="review_settings")
    panel_combination = models.CharField(
        _("考评小组多人评分合成方式"), max_length=10, choices=PanelCombination.choices, default=PanelCombination.MEAN
    )
    mass_min_answers = models.PositiveSmallIntegerField(
        _("群众评议结果公开所需最少人数"), default=5, validators=[MinValueValidator(2)]
    )
    declaration_verifier = models.CharField(
        _("本人申报审核"), max_length=10, choices=Verifier.choices, default=Verifier.COMMITTEE
    )
    pledge_audience = models.CharField(
        _("承诺公示范围"), max_length=10, choices=Audience.choices, default=Audience.BRANCH
    )
    publicity_days = models.PositiveSmallIntegerField(
        _("公示天数"), default=5, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    objection_answer_days = models.PositiveSmallIntegerField(
        _("异议答复期限（天）"), default=7, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )

    class Meta:
        verbose_name = _("评议流程设置")
        verbose_name_plural = _("评议流程设置")

    def __str__(self):
        return str(self.scheme)


class Pledge(models.Model):
    """A member's public pledge for the year (公开承诺 / 先锋承诺书)."""

    class Kind(models.TextChoices):
        VANGUARD = "vanguard", _("先锋承诺")
        COMMON = "common", _("共性承诺")
        POST = "post", _("岗位承诺")
        DEED = "deed", _("实事承诺")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待审核")
        APPROVED = "approved", _("已审核")
        RETURNED = "returned", _("已退回")

    TRANSITIONS = {
        "submit": ({"draft", "returned"}, "submitted"),
        "approve": ({"submitted"}, "approved"),
        "return": ({"submitted"}, "returned"),
    }

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="pledges")
    year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    content = models.TextField(_("承诺内容"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    returned_reason = models.TextField(_("退回理由"), blank=True)
    reviewed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("承诺")
        verbose_name_plural = _("承诺")
        ordering = ["member", "kind", "id"]

    def __str__(self):
        return f"{self.member.name} {self.get_kind_display()}"


class FulfilmentReport(models.Model):
    """A member's monthly report on keeping their pledges (践诺), verified by the branch (B)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待核实")
        VERIFIED = "verified", _("已核实")
        RETURNED = "returned", _("已退回")

    TRANSITIONS = {
        "verify": ({"submitted"}, "verified"),
        "return": ({"submitted"}, "returned"),
        "resubmit": ({"returned"}, "submitted"),
    }

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="fulfilment_reports")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    content = models.TextField(_("践诺情况"))
    evidence = models.FileField(_("佐证材料"), upload_to="fulfilment/%Y/%m/", blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    answer = models.TextField(_("核实意见"), blank=True)
    verified_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("践诺报告")
        verbose_name_plural = _("践诺报告")
        constraints = [models.UniqueConstraint(fields=["member", "period"], name="one_fulfilment_per_month")]

    def __str__(self):
        return f"{self.member.name} {self.period}"


class AnnualReport(models.Model):
    """The year-end public report (述职) a member gives, recorded by the branch."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="annual_reports")
    year = models.PositiveSmallIntegerField(_("年度"))
    given_on = models.DateField(_("述职日期"))
    summary = models.TextField(_("述职要点"))
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("年终述职")
        verbose_name_plural = _("年终述职")
        constraints = [models.UniqueConstraint(fields=["member", "year"], name="one_annual_report")]

    def __str__(self):
        return f"{self.member.name} {self.year}"


class SelfAssessment(models.Model):
    """A member's self-check for one period (自查自评): claims against the branch's items."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交")

    # Reopening gives a member a late submission (a draft may be reopened too: its deadline is extended).
    TRANSITIONS = {"submit": ({"draft"}, "submitted"), "reopen": ({"draft", "submitted"}, "draft")}

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="self_assessments")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    note = models.TextField(_("总体说明"), blank=True)
    self_score = models.IntegerField(_("自评得分"), null=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reopened_until = models.DateField(_("补交截止"), null=True, blank=True)

    class Meta:
        verbose_name = _("自查自评")
        verbose_name_plural = _("自查自评")
        constraints = [models.UniqueConstraint(fields=["member", "period"], name="one_self_assessment")]

    def __str__(self):
        return f"{self.member.name} {self.period}"


class SelfClaim(models.Model):
    assessment = models.ForeignKey(SelfAssessment, on_delete=models.CASCADE, related_name="claims")
    item = models.ForeignKey(RuleItem, on_delete=models.PROTECT, related_name="+")
    points = models.IntegerField(_("自评分值（0.01分）"))
    note = models.TextField(_("说明"), blank=True)
    evidence = models.FileField(_("佐证材料"), upload_to="self/%Y/%m/", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assessment", "item"], name="one_claim_per_item")]

    def __str__(self):
        return f"{self.assessment} {self.item.code}"


class Declaration(models.Model):
    """A bonus item the member declares (本人申报, B): verified → publicized → confirmed."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待审核")
        VERIFIED = "verified", _("已审核，待公示")
        PUBLICIZED = "publicized", _("公示中")
        CONFIRMED = "confirmed", _("已确认记分")
        REJECTED = "rejected", _("未通过")

    TRANSITIONS = {
        "verify": ({"submitted"}, "verified"),
        "refuse": ({"submitted"}, "rejected"),
        "reject": ({"submitted", "verified", "publicized"}, "rejected"),
        "publicize": ({"verified"}, "publicized"),
        "confirm": ({"publicized"}, "confirmed"),
        "overturn": ({"confirmed"}, "rejected"),
    }

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="declarations")
    item = models.ForeignKey(RuleItem, on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    points = models.IntegerField(_("申报分值（0.01分）"))
    reason = models.TextField(_("申报事由"))
    evidence = models.FileField(_("佐证材料"), upload_to="declarations/%Y/%m/", blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    answer = models.TextField(_("审核意见"), blank=True)
    verified_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Who took the decision (评议流程设置「本人申报审核」when it was taken): 支委会 or 支部党员大会.
    verifier = models.CharField(_("审核组织"), max_length=10, choices=ReviewSettings.Verifier.choices, blank=True)
    publicity = models.ForeignKey(
        "Publicity", null=True, blank=True, on_delete=models.PROTECT, related_name="declarations"
    )
    entry = models.OneToOneField(LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("本人申报")
        verbose_name_plural = _("本人申报")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.member.name} {self.item.title}"


class PanelScore(models.Model):
    """One panelist's score of one item for one member and period (考绩)."""

    panelist = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="panel_scores")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(RuleItem, on_delete=models.PROTECT, related_name="+")
    points = models.IntegerField(_("分值（0.01分）"))
    note = models.CharField(_("说明"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("考评小组评分")
        verbose_name_plural = _("考评小组评分")
        constraints = [models.UniqueConstraint(fields=["panelist", "member", "period", "item"], name="one_panel_score")]

    def __str__(self):
        return f"{self.member.name} {self.item.code} {self.points / 100:g}"


class PanelConfirmation(models.Model):
    """The secretary's confirmation of a member's period score from the panel's scores."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    confirmed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(auto_now_add=True)
    combined = models.JSONField(_("合成结果"), default=dict)  # item code → centipoints

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "period"], name="one_panel_confirmation")]

    def __str__(self):
        return f"{self.member.name} {self.period}"


class MassEvaluation(models.Model):
    """One mass representative's form for a branch's year (评绩). Anonymous to the branch."""

    class Rating(models.IntegerChoices):
        GOOD = 4, _("好")
        FAIR = 3, _("较好")
        AVERAGE = 2, _("一般")
        POOR = 1, _("差")

    representative = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    panel_rating = models.PositiveSmallIntegerField(_("对考评小组评分的评价"), choices=Rating.choices)
    branch_rating = models.PositiveSmallIntegerField(_("对支部评分工作的评价"), choices=Rating.choices)
    comments = models.TextField(_("意见建议"), blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("群众评议")
        verbose_name_plural = _("群众评议")
        constraints = [models.UniqueConstraint(fields=["representative", "branch", "year"], name="one_mass_evaluation")]

    def __str__(self):
        return f"{self.branch} {self.year}"


class MassRating(models.Model):
    evaluation = models.ForeignKey(MassEvaluation, on_delete=models.CASCADE, related_name="ratings")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    rating = models.PositiveSmallIntegerField(_("评价"), choices=MassEvaluation.Rating.choices)
    comment = models.CharField(_("意见"), max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["evaluation", "member"], name="one_mass_rating")]

    def __str__(self):
        return f"{self.evaluation} {self.member_id}"


class MassResult(models.Model):
    """A branch's mass evaluation results for a year, frozen once when the evaluation window has
    closed: the same figures for everyone, for ever, so no two readings can be subtracted. Below the
    minimum number of answers it holds the count only."""

    branch = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    closed_on = models.DateField(_("评议截止日期"))
    answers = models.PositiveSmallIntegerField(_("答卷份数"))
    needed = models.PositiveSmallIntegerField(_("公开所需最少份数"))
    figures = models.JSONField(_("汇总结果"), default=dict, blank=True)
    frozen_at = models.DateTimeField(_("汇总时间"), default=timezone.now)

    class Meta:
        verbose_name = _("群众评议汇总")
        verbose_name_plural = _("群众评议汇总")
        constraints = [models.UniqueConstraint(fields=["branch", "year"], name="one_mass_result")]

    def __str__(self):
        return f"{self.branch} {self.year}"

    @property
    def published(self):
        return self.answers >= self.needed


class Publicity(models.Model):
    """A publicity window (公示) over a set of results: visible to the audience from its start,
    objections taken only while it is open; it closes by itself at its end."""

    class Kind(models.TextChoices):
        PLEDGES = "pledges", _("党员承诺公示")
        FULFILMENT = "fulfilment", _("承诺践诺情况月度公示")
        SCORES = "scores", _("记分情况公开")
        DECLARATIONS = "declarations", _("本人申报加分公示")
        ANNUAL = "annual", _("年度积分结果公示")

    branch = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="publicities")
    year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("公示内容"), max_length=15, choices=Kind.choices)
    period = models.ForeignKey(Period, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    audience = models.CharField(
        _("公示范围"), max_length=10, choices=ReviewSettings.Audience.choices, default=ReviewSettings.Audience.BRANCH
    )
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    closed_at = models.DateTimeField(_("结束处理时间"), null=True, blank=True)
    determination = models.ForeignKey(
        "Determination", null=True, blank=True, on_delete=models.PROTECT, related_name="publicities"
    )
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    snapshot = models.JSONField(_("公示时的积分"), default=list, blank=True)  # scores: as they stood at opening

    class Meta:
        verbose_name = _("公示")
        verbose_name_plural = _("公示")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="publicity_ends_after_start")
        ]

    def __str__(self):
        return f"{self.branch} {self.get_kind_display()} {self.starts_at:%Y-%m-%d}"

    def is_open(self, now=None):
        now = now or timezone.now()
        return self.starts_at <= now < self.ends_at

    def has_started(self, now=None):
        return (now or timezone.now()) >= self.starts_at


class Determination(models.Model):
    """The branch meeting's annual decision (定绩): totals frozen with a checksum, then publicized."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("筹备中")
        DECIDED = "decided", _("已评定")
        REOPENED = "reopened", _("已重新开启")

    TRANSITIONS = {"decide": ({"draft"}, "decided"), "reopen": ({"decided"}, "reopened")}

    branch = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="determinations")
    year = models.PositiveSmallIntegerField(_("年度"))
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    meeting_date = models.DateField(_("党员大会日期"), null=True, blank=True)
    members_expected = models.PositiveIntegerField(_("应到人数"), null=True, blank=True)
    members_present = models.PositiveIntegerField(_("实到人数"), null=True, blank=True)
    decision = models.TextField(_("大会决定"), blank=True)
    snapshot = models.JSONField(_("评定结果"), default=list)
    checksum = models.CharField(max_length=64, blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reopen_reason = models.TextField(_("重新开启理由"), blank=True)
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("年度评定")
        verbose_name_plural = _("年度评定")
        constraints = [
            models.UniqueConstraint(fields=["branch", "year", "version"], name="one_determination_version"),
            models.UniqueConstraint(
                fields=["branch", "year"], condition=~Q(status="reopened"), name="one_current_determination"
            ),
        ]

    def __str__(self):
        return f"{self.branch} {self.year} v{self.version}"


class EvaluationGrade(models.TextChoices):
    """The democratic-evaluation grade (民主评议等次) the branch meeting gives each member."""

    EXCELLENT = "excellent", _("优秀")
    QUALIFIED = "qualified", _("合格")
    BASIC = "basic", _("基本合格")
    UNQUALIFIED = "unqualified", _("不合格")


class DeterminationLine(models.Model):
    """A member's archived annual result (存入党员日常管理档案)."""

    determination = models.ForeignKey(Determination, on_delete=models.CASCADE, related_name="lines")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="determinations")
    total = models.IntegerField(_("年度总分"), null=True)
    rank = models.PositiveIntegerField(_("排名"), null=True)
    outcomes = models.JSONField(_("结果"), default=list)
    # Blank for a member who was not scored (exempted, left) and for decisions taken before grades.
    grade = models.CharField(_("民主评议等次"), max_length=12, choices=EvaluationGrade.choices, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["determination", "member"], name="one_line_per_member")]

    def __str__(self):
        return f"{self.determination} {self.member_id}"


# An objection still in play: with the branch, rejected but escalatable, or with the department.
OBJECTION_LIVE = ("open", "rejected", "escalated")


class Objection(models.Model):
    """An objection (异议) to an entry, a declaration, a publicized result or the determination.

    The branch investigates and answers; a dissatisfied member escalates to the organization
    department, which decides. Every objection has an owner and a deadline.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("待支部调查核实")
        UPHELD = "upheld", _("支部：异议成立")
        REJECTED = "rejected", _("支部：异议不成立")
        ESCALATED = "escalated", _("已提请组织部核实")
        RESOLVED_UPHELD = "resolved_upheld", _("组织部：异议成立")
        RESOLVED_REJECTED = "resolved_rejected", _("组织部：异议不成立")

    TRANSITIONS = {
        "uphold": ({"open"}, "upheld"),
        "reject": ({"open"}, "rejected"),
        "escalate": ({"rejected"}, "escalated"),
        "escalate_overdue": ({"open"}, "escalated"),
        "resolve_uphold": ({"escalated"}, "resolved_upheld"),
        "resolve_reject": ({"escalated"}, "resolved_rejected"),
    }
    PENDING = ("open", "escalated")

    raised_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="objections")
    branch = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    entry = models.ForeignKey(LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    declaration = models.ForeignKey(
        Declaration, null=True, blank=True, on_delete=models.PROTECT, related_name="objections"
    )
    publicity = models.ForeignKey(Publicity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    determination = models.ForeignKey(Determination, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("异议理由"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.OPEN)
    due_on = models.DateField(_("答复期限"))
    answer = models.TextField(_("支部答复"), blank=True)
    answered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    escalation_reason = models.TextField(_("提请理由"), blank=True)
    decision = models.TextField(_("组织部意见"), blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    correction = models.ForeignKey(LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("异议")
        verbose_name_plural = _("异议")
        ordering = ["-created_at"]
        # One live objection per person, member and target: a second one (a double click, or a
        # resubmission while the first is with the branch) is refused; after a rejection the way
        # on is escalation, not a new objection.
        constraints = [
            models.UniqueConstraint(
                fields=["raised_by", "member", target],
                name=f"one_live_objection_{target}",
                condition=Q(**{f"{target}__isnull": False}, status__in=OBJECTION_LIVE),
            )
            for target in ("entry", "declaration", "publicity", "determination")
        ]

    def __str__(self):
        return f"{self.member.name} {self.get_status_display()}"

    @property
    def is_pending(self):
        return self.status in self.PENDING


class ObjectionAttachment(models.Model):
    """A file (image or PDF) with an objection: the objector's proof, or what the secretary or the
    organization department adds while deciding it. An upheld correction is recorded with these."""

    objection = models.ForeignKey(Objection, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("文件"), upload_to="objections/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("异议附件")
        verbose_name_plural = _("异议附件")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.name


class FollowUp(models.Model):
    """What the determination's outcomes require: talks, warnings, probation proposals…"""

    class Kind(models.TextChoices):
        TALK_SECRETARY = "talk_secretary", _("支部书记约谈")
        TALK_ADMONISH = "talk_admonish", _("诫勉谈话")
        TALK_REMINDER = "talk_reminder", _("组织部门提醒谈话")
        WARNING_YELLOW = "warning_yellow", _("黄色预警")
        WARNING_RED = "warning_red", _("红色预警")
        PROBATION = "probation", _("预备期处理建议")
        UNQUALIFIED = "unqualified", _("不合格党员处置")
        NOT_PROMOTED = "not_promoted", _("下一年度不得提拔重用")

    class Status(models.TextChoices):
        OPEN = "open", _("待办理")
        DONE = "done", _("已办理")

    TRANSITIONS = {"complete": ({"open"}, "done")}

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="follow_ups")
    determination = models.ForeignKey(Determination, on_delete=models.PROTECT, related_name="follow_ups")
    kind = models.CharField(_("事项"), max_length=20, choices=Kind.choices)
    rule_code = models.CharField(max_length=30)
    reason = models.CharField(_("依据"), max_length=300)
    responsible = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField(_("办理期限"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    record = models.TextField(_("办理记录"), blank=True)
    done_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    done_on = models.DateField(_("办理日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("后续处理")
        verbose_name_plural = _("后续处理")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["determination", "member", "kind", "rule_code"], name="one_follow_up")
        ]

    def __str__(self):
        return f"{self.member.name} {self.get_kind_display()}"


class Reminder(models.Model):
    """A reminder sent to a person about a deadline at one lead time. Unique, so a run that
    is repeated (or resumed after Redis or the worker was down) never sends it twice."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=40)
    due_on = models.DateField()
    lead_days = models.SmallIntegerField()
    sent_on = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "year", "code", "lead_days"], name="one_reminder")]

    def __str__(self):
        return f"{self.user} {self.code} −{self.lead_days}"


class Escalation(models.Model):
    """An overdue duty reported one level up (member → secretary → general branch → committee)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="escalations")
    subject = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=40)
    title = models.CharField(_("事项"), max_length=200)
    due_on = models.DateField(_("截止日期"))
    url = models.CharField(max_length=300, blank=True)
    created_on = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("逾期上报")
        verbose_name_plural = _("逾期上报")
        ordering = ["due_on"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "subject", "year", "code"], name="one_escalation")
        ]

    def __str__(self):
        return f"{self.subject} {self.title}"


class Rollover(models.Model):
    """Opening the next year (年度切换): schemes carried over, every member's record for the year
    created branch by branch in the background. Progress is the count of branches done."""

    from_year = models.PositiveSmallIntegerField(_("上一年度"))
    to_year = models.PositiveSmallIntegerField(_("新年度"), unique=True)
    branches_total = models.PositiveIntegerField(default=0)
    started_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("年度切换")
        verbose_name_plural = _("年度切换")

    def __str__(self):
        return f"{self.from_year} → {self.to_year}"


class RolloverBranch(models.Model):
    """A branch done by a rollover; unique, so a task run twice counts once."""

    rollover = models.ForeignKey(Rollover, on_delete=models.CASCADE, related_name="branches_done")
    branch = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    members = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rollover", "branch"], name="one_rollover_branch")]

    def __str__(self):
        return f"{self.rollover} {self.branch_id}"


class Meeting(models.Model):
    """A branch meeting (三会一课: 支部党员大会, 支委会, 党小组会, 党课; 主题党日; 组织生活会) with the members
    expected at it, their attendance and the meeting record (会议记录: minutes and attachments)."""

    branch = models.ForeignKey(
        Organization, verbose_name=_("党支部"), on_delete=models.PROTECT, related_name="meetings"
    )
    kind = models.CharField(_("会议类型"), max_length=12, choices=MeetingKind.choices)
    date = models.DateField(_("日期"))
    starts_at = models.TimeField(_("开始时间"))
    ends_at = models.TimeField(_("结束时间"))
    topic = models.CharField(_("主题"), max_length=200)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    whole_branch = models.BooleanField(_("全体党员参加"), default=True)
    minutes = models.TextField(_("会议记录"), blank=True)
    scheduled_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    scheduled_at = models.DateTimeField(auto_now_add=True)
    attendance_saved_at = models.DateTimeField(_("出勤保存时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("支部会议")
        verbose_name_plural = _("支部会议")
        ordering = ["-date", "-starts_at", "-id"]
        indexes = [models.Index(fields=["branch", "date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="meeting_ends_after_start",
                violation_error_message=_("结束时间应晚于开始时间"),
            )
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()}：{self.topic}"


class MeetingAttendee(models.Model):
    """A member expected at a meeting. `status` is the attendance as it stands (a QR sign-in sets it to
    present); `recorded_status` and `entry` are what the ledger holds since the last save: the line
    written for it, if its scheme's attendance rule wrote one."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    member = models.ForeignKey(
        Member, verbose_name=_("党员"), on_delete=models.PROTECT, related_name="meeting_attendance"
    )
    status = models.CharField(_("出勤情况"), max_length=10, choices=AttendanceStatus.choices, blank=True)
    reason = models.CharField(_("请假理由"), max_length=200, blank=True)
    signed_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    recorded_status = models.CharField(max_length=10, choices=AttendanceStatus.choices, blank=True)
    entry = models.OneToOneField(LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("应到党员")
        verbose_name_plural = _("应到党员")
        ordering = ["meeting", "member__number"]
        constraints = [models.UniqueConstraint(fields=["meeting", "member"], name="attendee_once")]

    def __str__(self):
        return f"{self.meeting_id} {self.member}"


class MeetingAttachment(models.Model):
    """A file (photo or PDF) kept with the meeting record."""

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("文件"), upload_to="meetings/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("会议附件")
        verbose_name_plural = _("会议附件")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.name
