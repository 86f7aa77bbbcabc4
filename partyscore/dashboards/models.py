"""What only the dashboards keep: spot checks of ledgers (随机抽查), notices commending or criticising
a branch (通报), annual work reports (工作报告) and the stored per-branch counts (BranchYearFacts)."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SpotCheck(models.Model):
    """A random sample of a branch's ledger lines drawn for review by the organization
    department (随机抽查); each sampled line gets a verdict, then the check is concluded."""

    class Status(models.TextChoices):
        OPEN = "open", _("抽查中")
        CLOSED = "closed", _("已完成")

    TRANSITIONS = {"close": ({"open"}, "closed")}

    branch = models.ForeignKey(
        "members.Organization", verbose_name=_("党支部"), on_delete=models.PROTECT, related_name="spot_checks"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    requested = models.PositiveSmallIntegerField(_("抽查条数"))
    seed = models.CharField(_("随机种子"), max_length=32)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    conclusion = models.TextField(_("抽查结论"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("抽查人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("抽取时间"), default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("随机抽查")
        verbose_name_plural = _("随机抽查")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["branch", "year"])]

    def __str__(self):
        return f"{self.branch} {self.year} #{self.pk}"


class SpotCheckItem(models.Model):
    class Verdict(models.TextChoices):
        PENDING = "pending", _("待核查")
        OK = "ok", _("记录属实")
        PROBLEM = "problem", _("存在问题")

    spot_check = models.ForeignKey(SpotCheck, on_delete=models.CASCADE, related_name="items")
    entry = models.ForeignKey(
        "scoring.LedgerEntry", verbose_name=_("台账记录"), on_delete=models.PROTECT, related_name="+"
    )
    verdict = models.CharField(_("核查结果"), max_length=10, choices=Verdict.choices, default=Verdict.PENDING)
    note = models.CharField(_("核查说明"), max_length=300, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("抽查记录")
        verbose_name_plural = _("抽查记录")
        ordering = ["spot_check", "id"]
        constraints = [
            models.UniqueConstraint(fields=["spot_check", "entry"], name="spot_check_entry_once"),
            models.CheckConstraint(
                condition=~models.Q(verdict="problem") | ~models.Q(note=""), name="spot_check_problem_has_note"
            ),
        ]

    def __str__(self):
        return f"{self.spot_check} {self.entry_id}"


class BranchCommendation(models.Model):
    """通报表彰 / 通报批评 of a branch, with its reason. Policy A ties a criticism for faking or
    neglecting the work to the branch losing its award eligibility for the year."""

    class Kind(models.TextChoices):
        COMMEND = "commend", _("通报表彰")
        CRITICISE = "criticise", _("通报批评")

    branch = models.ForeignKey(
        "members.Organization", verbose_name=_("党组织"), on_delete=models.PROTECT, related_name="commendations"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    reason = models.TextField(_("事由"))
    loses_award_eligibility = models.BooleanField(_("取消本年度评先评优资格"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("通报人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("通报时间"), default=timezone.now)

    class Meta:
        verbose_name = _("通报")
        verbose_name_plural = _("通报")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="criticise") | models.Q(loses_award_eligibility=False),
                name="only_criticism_loses_awards",
            ),
        ]

    def __str__(self):
        return f"{self.branch} {self.get_kind_display()} {self.year}"


class WorkReport(models.Model):
    """A unit's annual work report (工作报告): a branch's to its general branch, a general
    branch's college report to the committee. `figures` is the unit's own numbers, frozen when
    the report is submitted."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已上报")
        RETURNED = "returned", _("已退回")

    TRANSITIONS = {"submit": ({"draft", "returned"}, "submitted"), "return": ({"submitted"}, "returned")}

    organization = models.ForeignKey(
        "members.Organization", verbose_name=_("党组织"), on_delete=models.PROTECT, related_name="work_reports"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    summary = models.TextField(_("工作总结"))
    figures = models.JSONField(_("本单位数据"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(_("修改时间"), default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("上报时间"), null=True, blank=True)
    returned_reason = models.TextField(_("退回理由"), blank=True)
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("工作报告")
        verbose_name_plural = _("工作报告")
        ordering = ["organization__path", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "year"], name="one_work_report_per_year"),
            models.CheckConstraint(
                condition=~models.Q(status="submitted") | models.Q(submitted_at__isnull=False),
                name="submitted_report_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.organization} {self.year} {self.get_status_display()}"


class BranchYearFacts(models.Model):
    """The counts of one branch's year that the dashboards add up (progress of each step, the
    distribution of totals, outcomes, notices, year-over-year), stored so that a dashboard over
    hundreds of branches reads one row per branch instead of aggregating every member's records.

    Kept up to date from the audit log, which every service writes in the transaction of its
    change: a branch's row is recomputed when an event at the branch (or above it) is newer than
    `audit_mark`, when the row is older than DASHBOARD_SETTINGS["FACTS_MAX_AGE_MINUTES"] (a bound
    for changes made outside the services), or when its `facts["v"]` is not the current shape.
    """

    branch = models.ForeignKey("members.Organization", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    facts = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    audit_mark = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("支部年度统计")
        verbose_name_plural = _("支部年度统计")
        constraints = [models.UniqueConstraint(fields=["branch", "year"], name="one_facts_row_per_branch_year")]

    def __str__(self):
        return f"{self.branch_id} {self.year}"


# ── security log ─────────────────────────────────────────────────────────────────────────────
