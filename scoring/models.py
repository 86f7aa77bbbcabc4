"""Schemes as data, the append-only ledger, and the totals and outcomes derived from it.

Terms: 评分参考标准 reference standard (a committee scheme); 评分细则 a branch's detailed rules
derived from it; 基础积分/基础分 base; 贡献积分/加分 contribution/bonus; 减分 penalty;
一票否决 veto; 台账 ledger; 积分卡 points card; 积分榜 points board.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member, Organization
from partyscore.core.partitions import YearPartitions

from .rule_kinds import param_errors


class MemberCategory(models.TextChoices):
    STAFF = "staff", _("教职工")
    STUDENT = "student", _("学生")
    ALL = "all", _("全体")


class PeriodKind(models.TextChoices):
    SEMESTER = "semester", _("学期")
    QUARTER = "quarter", _("季度")
    MONTH = "month", _("月")
    YEAR = "year", _("年度")


class Scheme(models.Model):
    """A versioned scoring scheme. Reference schemes belong to the committee; a branch's detailed
    rules are derived from one, may add or tighten items, and need approval before use."""

    class Composition(models.TextChoices):
        HUNDRED = "hundred", _("百分制：基础积分 + 贡献积分（按期计分）")
        ADDITIVE = "additive", _("基础分 + 加分 − 减分（按年计分）")

    class Pipeline(models.TextChoices):
        """Which review steps the scheme's members go through (reviews/pipeline.py holds each step)."""

        VANGUARD = "vanguard", _("先锋亮绩：承诺、自查自评、考评小组评分、群众评议、党员大会定绩")
        TALLY = "tally", _("亮化记分：承诺、每月践诺公示、本人申报、每季度记分公开")

    class Aggregation(models.TextChoices):
        MEAN = "mean", _("各期平均")
        SUM = "sum", _("各期相加")
        LAST = "last", _("取最后一期")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待审批")
        APPROVED = "approved", _("已批准")
        RETURNED = "returned", _("已退回")

    TRANSITIONS = {
        "submit": ({"draft", "returned"}, "submitted"),
        "approve": ({"submitted"}, "approved"),
        "return": ({"submitted"}, "returned"),
    }

    owner = models.ForeignKey(
        Organization, verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="schemes"
    )
    name = models.CharField(_("名称"), max_length=100)
    year = models.PositiveSmallIntegerField(_("年度"))
    member_category = models.CharField(
        _("适用党员"), max_length=10, choices=MemberCategory.choices, default=MemberCategory.ALL
    )
    composition = models.CharField(_("计分方式"), max_length=10, choices=Composition.choices)
    pipeline = models.CharField(_("评议流程"), max_length=10, choices=Pipeline.choices)
    base_points = models.DecimalField(_("基础分"), max_digits=6, decimal_places=2)
    bonus_cap = models.DecimalField(_("每期贡献积分上限"), max_digits=6, decimal_places=2, null=True, blank=True)
    floor = models.DecimalField(_("最低分"), max_digits=6, decimal_places=2, default=0)
    cap = models.DecimalField(_("最高分"), max_digits=6, decimal_places=2, null=True, blank=True)
    aggregation = models.CharField(_("年度总分"), max_length=5, choices=Aggregation.choices, default=Aggregation.MEAN)
    period_kind = models.CharField(_("计分周期"), max_length=10, choices=PeriodKind.choices)
    derived_from = models.ForeignKey(
        "self", verbose_name=_("来源标准"), null=True, blank=True, on_delete=models.PROTECT, related_name="derivatives"
    )
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    is_sample = models.BooleanField(_("示例（请按本单位实际修改）"), default=False)
    returned_reason = models.TextField(_("退回理由"), blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("评分标准")
        verbose_name_plural = _("评分标准")
        ordering = ["-year", "owner__path", "member_category", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "year", "member_category", "version"], name="scheme_unique_version"
            ),
            models.CheckConstraint(
                condition=Q(cap__isnull=True) | Q(cap__gte=models.F("floor")), name="scheme_cap_above_floor"
            ),
        ]

    def __str__(self):
        return f"{self.name}（{self.year}，v{self.version}）"

    @property
    def is_frozen(self):
        return self.status in (self.Status.SUBMITTED, self.Status.APPROVED)


class RuleItem(models.Model):
    """One scoring item. Points are magnitudes: base items and penalties deduct, bonuses add,
    a veto item zeroes the year."""

    class Kind(models.TextChoices):
        BASE = "base", _("基础")
        BONUS = "bonus", _("加分/贡献")
        PENALTY = "penalty", _("减分")
        VETO = "veto", _("一票否决")

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    code = models.CharField(_("编号"), max_length=20)
    title = models.CharField(_("项目"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    points_min = models.DecimalField(_("每次最少分值"), max_digits=6, decimal_places=2, default=0)
    points_max = models.DecimalField(_("每次最多分值"), max_digits=6, decimal_places=2, default=0)
    cap_per_period = models.DecimalField(_("每期上限"), max_digits=6, decimal_places=2, null=True, blank=True)
    cap_per_year = models.DecimalField(_("每年上限"), max_digits=6, decimal_places=2, null=True, blank=True)
    times_per_period = models.PositiveSmallIntegerField(_("每期最多次数"), null=True, blank=True)
    evidence_required = models.BooleanField(_("须提供佐证材料"), default=False)
    member_may_declare = models.BooleanField(_("党员可本人申报"), default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("评分项目")
        verbose_name_plural = _("评分项目")
        ordering = ["scheme", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "code"], name="item_unique_code"),
            models.CheckConstraint(
                condition=Q(points_min__gte=0) & Q(points_max__gte=models.F("points_min")),
                name="item_bounds_ordered",
                violation_error_message=_("分值范围有误：最少分值不能大于最多分值，且不能为负"),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    @property
    def sign(self):
        """+1 for bonuses, −1 for deductions, 0 for a veto."""
        return {self.Kind.BONUS: 1, self.Kind.VETO: 0}.get(self.kind, -1)


def consequence_label(consequence, rule_kind=None):
    """A consequence as shown: "谈话" says whose talk it is — the organization department's reminder
    talk for a cadre last in the branch (rank rule, A: 提醒谈话), else the branch's admonishing talk
    (band rule, B: 诫勉谈话)."""
    if consequence == OutcomeRule.Consequence.TALK:
        return _("提醒谈话") if rule_kind == OutcomeRule.Kind.RANK_LAST else _("诫勉谈话")
    return OutcomeRule.Consequence(consequence).label if consequence in OutcomeRule.Consequence.values else ""


class OutcomeRuleQuerySet(models.QuerySet):
    """Bulk writes check every rule's parameters as `OutcomeRule.save` does (scheme copies, presets)."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for rule in objs:
            rule.validate_params()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if {"kind", "params"} & set(fields):
            for rule in objs:
                rule.validate_params()
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs):
        if {"kind", "params"} & set(kwargs):
            raise ValueError("an outcome rule's kind and parameters are changed rule by rule (save), checked")
        return super().update(**kwargs)


class OutcomeRule(models.Model):
    """A consequence of the annual total, as data; `scoring.policy` evaluates each kind.

    `params` hold the parameters `scoring.rule_kinds` declares for the kind, checked there on every
    save, bulk write and full_clean, so no path stores a rule that recalculation cannot read.
    """

    class Kind(models.TextChoices):
        BAND = "band", _("分数段")
        RANK_LAST = "rank_last", _("支部最后一名")
        STREAK = "streak", _("连续多年")
        SHARE_CAP = "share_cap", _("人数比例上限")
        COMMENDATION = "commendation", _("表彰")

    class Consequence(models.TextChoices):
        NOT_EXCELLENT = "not_excellent", _("不得确定为优秀")
        PRIORITY = "priority", _("优先参加评先评优")
        EXCELLENT_ELIGIBLE = "excellent_eligible", _("可评为优秀党员")
        YELLOW = "yellow", _("黄色预警")
        RED = "red", _("红色预警")
        UNQUALIFIED = "unqualified", _("不合格党员")
        TALK = "talk", _("谈话")
        NOT_PROMOTED = "not_promoted", _("下一年度不得提拔重用")
        PROBATION = "probation", _("预备期处理")
        COMMENDATION = "commendation", _("表彰")
        SHARE_CAP = "share_cap", _("比例上限")

    class AppliesTo(models.TextChoices):
        ALL = "all", _("全体党员")
        CADRE = "cadre", _("党员干部")
        PROBATIONARY = "probationary", _("预备党员")
        FULL = "full", _("正式党员")
        STAFF = "staff", _("教职工党员")
        STUDENT = "student", _("学生党员")

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="outcome_rules")
    code = models.CharField(_("编号"), max_length=30)
    kind = models.CharField(_("规则类型"), max_length=15, choices=Kind.choices)
    consequence = models.CharField(_("结果"), max_length=20, choices=Consequence.choices)
    label = models.CharField(_("说明"), max_length=200)
    applies_to = models.CharField(_("适用对象"), max_length=15, choices=AppliesTo.choices, default=AppliesTo.ALL)
    params = models.JSONField(_("参数"), default=dict)
    order = models.PositiveSmallIntegerField(default=0)

    objects = OutcomeRuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("结果规则")
        verbose_name_plural = _("结果规则")
        ordering = ["scheme", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["scheme", "code"], name="outcome_rule_unique_code")]

    def __str__(self):
        return f"{self.code} {self.label}"

    def save(self, *args, **kwargs):
        self.validate_params()
        super().save(*args, **kwargs)

    def validate_params(self):
        """Raise a ValidationError on `params` naming each wrong parameter."""
        errors = param_errors(self.kind, self.params)
        if errors:
            raise ValidationError({"params": [m for messages in errors.values() for m in messages]})

    def clean_fields(self, exclude=None):
        # With the fields, as `params` is one: a form that edits the parameters as fields of its own
        # excludes it and reports each error beside its field.
        errors = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if not ({"kind", "params"} & set(exclude or ())):
            try:
                self.validate_params()
            except ValidationError as error:
                errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


class MeetingKind(models.TextChoices):
    """The branch meetings of 三会一课 and organizational life (the meetings live in reviews; the kinds are
    here so that a scheme's attendance rules can name them)."""

    GENERAL = "general", _("支部党员大会")
    COMMITTEE = "committee", _("支委会")
    GROUP = "group", _("党小组会")
    LECTURE = "lecture", _("党课")
    THEME_DAY = "theme_day", _("主题党日")
    LIFE = "life", _("组织生活会")


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("出席")
    EXCUSED = "excused", _("请假")
    ABSENT = "absent", _("缺席")


class AttendanceRule(models.Model):
    """What a meeting's attendance writes to the ledger under a scheme, as data: a status (at one kind of
    meeting, or at any when `meeting_kind` is blank) records `points` on one of the scheme's items.
    The rule for the meeting's own kind wins over the one for any kind; no rule, no line."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="attendance_rules")
    meeting_kind = models.CharField(
        _("会议类型"), max_length=12, choices=MeetingKind.choices, blank=True, help_text=_("不选表示所有会议")
    )
    status = models.CharField(_("出勤情况"), max_length=10, choices=AttendanceStatus.choices)
    item = models.ForeignKey(
        RuleItem, verbose_name=_("记分项目"), on_delete=models.PROTECT, related_name="attendance_rules"
    )
    points = models.DecimalField(_("每次分值"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("会议考勤记分规则")
        verbose_name_plural = _("会议考勤记分规则")
        ordering = ["scheme", "meeting_kind", "status"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "meeting_kind", "status"], name="attendance_rule_unique"),
            models.CheckConstraint(condition=Q(points__gte=0), name="attendance_rule_points_magnitude"),
        ]

    def __str__(self):
        kind = self.get_meeting_kind_display() if self.meeting_kind else _("所有会议")
        return f"{kind} {self.get_status_display()} → {self.item.code}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from .points import format_points, to_centi

        if self.item_id is not None and self.scheme_id is not None and self.item.scheme_id != self.scheme_id:
            raise ValidationError({"item": _("只能选择本评分标准中的项目")})
        if (
            self.item_id is not None
            and self.points is not None
            and not (self.item.points_min <= self.points <= self.item.points_max)
        ):
            raise ValidationError(
                {
                    "points": _("“%(item)s”每次分值应在 %(low)s—%(high)s 分之间")
                    % {
                        "item": self.item.title,
                        "low": format_points(to_centi(self.item.points_min)),
                        "high": format_points(to_centi(self.item.points_max)),
                    }
                }
            )


class Cycle(models.Model):
    """A scoring year (年度). Scoring starts afresh each year."""

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    is_open = models.BooleanField(_("进行中"), default=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("年度")
        verbose_name_plural = _("年度")
        ordering = ["-year"]

    def __str__(self):
        return f"{self.year}"


# 第一季度 … 第四季度, as the documents write them (not 第1季度).
QUARTERS = {1: _("第一季度"), 2: _("第二季度"), 3: _("第三季度"), 4: _("第四季度")}


def quarter_name(year, quarter):
    return _("%(y)s年%(quarter)s") % {"y": year, "quarter": QUARTERS[quarter]}


def period_label(kind, index, year, name):
    """A period's name in the reader's language: `name` is stored in Chinese when the year is opened,
    so the display is rebuilt from kind, index and year with the same (translated) patterns."""
    if kind == PeriodKind.SEMESTER:
        return (_("%(y)s年第一学期") if index == 1 else _("%(y)s年第二学期")) % {"y": year}
    if kind == PeriodKind.QUARTER:
        return quarter_name(year, index)
    if kind == PeriodKind.MONTH:
        return _("%(y)s年%(m)s月") % {"y": year, "m": index}
    if kind == PeriodKind.YEAR:
        return _("%(y)s年度") % {"y": year}
    return name


class Period(models.Model):
    """A semester, quarter or month of a cycle. Entries are recorded against a period."""

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="periods")
    kind = models.CharField(_("周期"), max_length=10, choices=PeriodKind.choices)
    index = models.PositiveSmallIntegerField(_("序号"))
    name = models.CharField(_("名称"), max_length=50)
    starts_on = models.DateField(_("开始"))
    ends_on = models.DateField(_("结束"))
    locked_at = models.DateTimeField(_("锁定时间"), null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("计分周期")
        verbose_name_plural = _("计分周期")
        ordering = ["cycle", "kind", "index"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "kind", "index"], name="period_unique_index"),
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="period_ends_after_start"),
        ]

    def __str__(self):
        return str(self.label)

    @property
    def label(self):
        return period_label(self.kind, self.index, self.starts_on.year, self.name)

    @property
    def is_locked(self):
        return self.locked_at is not None


class Deadline(models.Model):
    """A dated step of the year (A: May rules, Dec 10 masses, Dec 31 meeting, Jan 10 reports…)."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="deadlines")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="deadlines")
    code = models.CharField(_("编号"), max_length=40)
    title = models.CharField(_("事项"), max_length=200)
    due_on = models.DateField(_("截止日期"))
    period = models.ForeignKey(Period, null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines")

    class Meta:
        verbose_name = _("截止日期")
        verbose_name_plural = _("截止日期")
        ordering = ["due_on", "code"]
        constraints = [models.UniqueConstraint(fields=["cycle", "organization", "code"], name="deadline_unique")]

    def __str__(self):
        return f"{self.title} {self.due_on}"


class LedgerEntry(models.Model):
    """One line of a member's ledger (台账). Append-only: the database refuses UPDATE and DELETE;
    a correction is a new entry that `reverses` the wrong one (once) with its own reason.

    `kind` and `year` copy the item's kind and the period's year so totals are one GROUP BY.
    Hash-chained in id order like the audit log, one chain per branch (`chain` = the member's
    branch when the entry was written; 0 for the entries written before the chains were per
    branch) (scoring/ledger_chain.py): entries are created only through `ledger_append` /
    `ledger_append_many`, which fill `chain`, `prev_hash` and `hash`.
    """

    class Source(models.TextChoices):
        DECLARATION = "declaration", _("本人申报")
        RECORDER = "recorder", _("记分员记录")
        PANEL = "panel", _("考评小组评分")
        IMPORT = "import", _("积分卡导入")
        CORRECTION = "correction", _("更正")

    member = models.ForeignKey(Member, verbose_name=_("党员"), on_delete=models.PROTECT, related_name="ledger")
    item = models.ForeignKey(RuleItem, verbose_name=_("项目"), on_delete=models.PROTECT, related_name="entries")
    period = models.ForeignKey(Period, verbose_name=_("周期"), on_delete=models.PROTECT, related_name="entries")
    year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    kind = models.CharField(_("类别"), max_length=10, choices=RuleItem.Kind.choices)
    points = models.IntegerField(_("分值（0.01分）"))
    reason = models.TextField(_("事由"))
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT, related_name="+"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    occurred_on = models.DateField(_("发生日期"))
    # Set when the object is built (not at save like auto_now_add), so the hash can cover it.
    recorded_at = models.DateTimeField(_("记录时间"), default=timezone.now, editable=False)
    reverses = models.OneToOneField(
        "self", verbose_name=_("冲销"), null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    chain = models.IntegerField(default=0, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        verbose_name = _("台账记录")
        verbose_name_plural = _("台账记录")
        ordering = ["occurred_on", "id"]
        indexes = [
            models.Index(fields=["year", "member", "period", "kind"]),
            # The ledger page of a college or the university, newest first: its first page is read
            # from here instead of sorting the scope's whole year.
            models.Index(fields=["year", "-recorded_at", "-id"], name="ledger_year_newest_first"),
            models.Index(fields=["chain", "id"], name="ledgerentry_chain_id"),
        ]

    def __str__(self):
        return f"{self.member} {self.item.code} {self.points / 100:+g}"


# On PostgreSQL the ledger is partitioned by `year` (scoring 0015, partyscore/core/partitions.py).
LEDGER_PARTITIONS = YearPartitions(LedgerEntry._meta.db_table, "year")


class EntryEvidence(models.Model):
    """A file (image or PDF) supporting an entry: 佐证材料."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="evidence")
    file = models.FileField(_("文件"), upload_to="evidence/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("佐证材料")
        verbose_name_plural = _("佐证材料")

    def __str__(self):
        return self.name


class MemberYearTotal(models.Model):
    """A member's derived totals for a year: recomputed from the ledger, never typed in."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="year_totals")
    year = models.PositiveSmallIntegerField(_("年度"))
    branch = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    scheme = models.ForeignKey(Scheme, null=True, on_delete=models.SET_NULL, related_name="+")
    scored = models.BooleanField(_("参与记分"), default=True)
    base = models.IntegerField(_("基础"), default=0)
    bonus = models.IntegerField(_("加分/贡献"), default=0)
    penalty = models.IntegerField(_("减分"), default=0)
    vetoed = models.BooleanField(_("一票否决"), default=False)
    period_scores = models.JSONField(_("各期得分"), default=dict)
    # `total` is the year's total as shown, in hundredths cut down (never rounded up); `total_exact`
    # is it exactly, in 1/EXACT_PER_CENTI of a hundredth (a mean of semesters may be 89.995). Ranks
    # and outcomes come from the exact value; "at or above"/"below" a whole hundredth agree on both.
    total = models.IntegerField(_("年度总分"), null=True)
    total_exact = models.BigIntegerField(_("年度总分（精确值）"), null=True)
    rank = models.PositiveIntegerField(_("支部排名"), null=True)
    # When these figures were last written, i.e. last changed: a recalculation that derives the
    # same row leaves it alone (when it last derived a branch is its BranchRecalculation).
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("年度积分")
        verbose_name_plural = _("年度积分")
        constraints = [models.UniqueConstraint(fields=["member", "year"], name="total_unique_member_year")]
        indexes = [models.Index(fields=["branch", "year"])]

    def __str__(self):
        return f"{self.member} {self.year}"


class MemberOutcome(models.Model):
    """A consequence that a rule produced for a member's year, with its reason in Chinese."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="outcomes")
    year = models.PositiveSmallIntegerField(_("年度"))
    branch = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(OutcomeRule, on_delete=models.PROTECT, related_name="+")
    rule_code = models.CharField(max_length=30)
    consequence = models.CharField(_("结果"), max_length=20, choices=OutcomeRule.Consequence.choices)
    reason = models.CharField(_("依据"), max_length=300)

    class Meta:
        verbose_name = _("积分结果")
        verbose_name_plural = _("积分结果")
        constraints = [models.UniqueConstraint(fields=["member", "year", "rule_code"], name="outcome_unique")]
        indexes = [models.Index(fields=["branch", "year"])]

    def __str__(self):
        return f"{self.member} {self.year} {self.rule_code}"

    @property
    def consequence_label(self):
        """Which talk, for a talk (needs `rule` loaded with the row: select_related("rule"))."""
        return consequence_label(self.consequence, self.rule.kind)


class BranchRecalculation(models.Model):
    """When a branch's stored figures of a year (MemberYearTotal, MemberOutcome) were last derived
    from the ledger, whether or not any row changed. The figures depend on the day (the periods
    that have started, who is still probationary): the tamper check (scoring.figures_verify)
    derives each branch again as of this day."""

    branch = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    recalculated_at = models.DateTimeField(_("重算时间"))

    class Meta:
        verbose_name = _("支部重算记录")
        verbose_name_plural = _("支部重算记录")
        constraints = [models.UniqueConstraint(fields=["branch", "year"], name="one_recalculation_per_branch_year")]

    def __str__(self):
        return f"{self.branch_id} {self.year} {self.recalculated_at:%Y-%m-%d %H:%M}"


def export_file_path(job, filename):
    """Unguessable: the file sits under a random directory, and is served only through its owner's view."""
    import uuid

    return f"exports/{uuid.uuid4().hex}/{filename}"


class ExportJob(models.Model):
    """A large export built in the background: owned by the requester, downloadable only by them,
    and deleted after `EXPORT_KEEP_HOURS`."""

    class Kind(models.TextChoices):
        BRANCH_WORKBOOK = "branch_workbook", _("台账工作簿（汇总表 + 每人台账）")
        FLAT_LEDGER = "flat_ledger", _("台账明细（单表）")
        COMMITTEE = "committee", _("统计汇总（党委/党总支）")
        PUBLICITY = "publicity", _("积分公示名单")
        EVALUATION = "evaluation", _("民主评议积分结果")
        BOARD = "board", _("积分榜")

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    # A task delivered again (its worker died) restarts its job, even one failed as stopped meanwhile; a job
    # failed as stopped that still finishes is done (export_job_run).
    TRANSITIONS = {
        "start": ({"pending", "running", "failed"}, "running"),
        "finish": ({"running", "failed"}, "done"),
        "fail": ({"pending", "running", "failed"}, "failed"),
    }

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("导出人"), on_delete=models.CASCADE, related_name="export_jobs"
    )
    kind = models.CharField(_("导出内容"), max_length=20, choices=Kind.choices)
    organization = models.ForeignKey(Organization, verbose_name=_("范围"), on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    rows_total = models.PositiveIntegerField(_("预计行数"), default=0)
    file = models.FileField(_("文件"), upload_to=export_file_path, max_length=255, blank=True)
    filename = models.CharField(_("文件名"), max_length=200, blank=True)
    error = models.CharField(_("错误"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    # Written with the progress (at most once a second) while a worker builds the file: a running
    # job whose heartbeat is older than EXPORT_STALE_MINUTES has stopped (scoring.io_services).
    heartbeat_at = models.DateTimeField(_("最近进展"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("保留至"))
    # A zip of branch workbooks is built in parts, one task each (possibly on different workers), then
    # assembled: per part {"branches": [ids], "names": [entry names], "members": n, "file": the part's
    # zip once written, "worker": who wrote it} (scoring.io_services.export_job_part).
    parts = models.JSONField(_("分段"), default=list, blank=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"]), models.Index(fields=["expires_at"])]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="export_progress_percent")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.organization_id} {self.year}"

    @property
    def is_zip(self):
        """A scope's ledger workbooks, one per branch (scoring.exports.write_branch_zip)."""
        return self.filename.endswith(".zip")


class PeriodReopening(models.Model):
    """A locked period opened again for one branch, until a date, with a reason (补录)."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="reopenings")
    branch = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    until = models.DateField(_("开放至"))
    reason = models.CharField(_("理由"), max_length=300)
    reopened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("周期重新开放")
        verbose_name_plural = _("周期重新开放")
        constraints = [models.UniqueConstraint(fields=["period", "branch"], name="one_reopening_per_branch")]

    def __str__(self):
        return f"{self.period} {self.branch_id} → {self.until}"
