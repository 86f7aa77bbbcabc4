from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .partitions import YearPartitions

# Every audit action as the pages name it (tests/test_plain_words.py fails on an action without one).
ACTION_LABELS = {
    "annual_report.record": _("记录年终述职"),
    "board.visibility": _("设置积分榜公开范围"),
    "branch.commend": _("通报表彰支部"),
    "branch.criticise": _("通报批评支部"),
    "cycle.open": _("开启计分年度"),
    "cycle.semesters": _("调整学期起止日期"),
    "deadline.move": _("调整时间节点"),
    "declaration.confirm": _("申报加分确认入账"),
    "declaration.submit": _("提交加分申报"),
    "declaration.verify": _("审核加分申报"),
    "demo.seed": _("载入演示数据"),
    "determination.decide": _("记录党员大会评定"),
    "determination.prepare": _("筹备年度评定"),
    "determination.reopen": _("重新开启年度评定"),
    "follow_up.done": _("办结后续处理"),
    "fulfilment.submit": _("提交践诺情况"),
    "fulfilment.verify": _("核实践诺情况"),
    "ledger.export": _("导出台账"),
    "ledger.export_download": _("下载导出文件"),
    "ledger.import": _("导入积分卡"),
    "ledger.record": _("记分"),
    "ledger.reverse": _("冲销记分"),
    "mass.freeze": _("封存群众评议结果"),
    "mass.submit": _("提交群众评议"),
    "meeting.attendance_save": _("保存会议出勤"),
    "meeting.record_save": _("保存会议记录"),
    "meeting.schedule": _("安排会议"),
    "meeting.sign_in": _("会议扫码签到"),
    "member.create": _("新增党员"),
    "member.edit": _("编辑党员信息"),
    "member.exemption_approve": _("审批免于记分"),
    "member.exemption_request": _("申请免于记分"),
    "member.status.expelled": _("记录开除党籍"),
    "member.status.full_membership": _("记录转正"),
    "member.status.graduated": _("记录毕业离校"),
    "member.status.persuaded_to_leave": _("记录劝其退党"),
    "member.status.probation_cancelled": _("记录取消预备党员资格"),
    "member.status.probation_extended": _("记录延长预备期"),
    "member.status.removed": _("记录除名"),
    "member.status.suspended": _("记录停止党籍"),
    "member.status.transferred_out": _("记录组织关系转出学校"),
    "member.status.withdrew": _("记录退党"),
    "member.transfer": _("党员转接"),
    "member.update": _("修改党员信息"),
    "objection.escalate": _("异议提请组织部核实"),
    "objection.escalate_overdue": _("异议逾期自动上报"),
    "objection.raise": _("提出异议"),
    "objection.resolve": _("组织部核实异议"),
    "objection.uphold": _("答复异议"),
    "organization.close": _("撤销党组织"),
    "organization.create": _("新建党组织"),
    "organization.merge": _("合并党支部"),
    "organization.move": _("调整党组织隶属关系"),
    "organization.rename": _("党组织更名"),
    "organization.tree_import": _("导入组织架构"),
    "panel.confirm": _("确认考评得分"),
    "panel.score": _("考评小组评分"),
    "period.lock": _("锁定周期"),
    "period.reopen": _("重新开放周期"),
    "period.reopen_branch": _("为支部重新开放周期"),
    "pledge.approve": _("审核承诺"),
    "pledge.delete": _("删除承诺草稿"),
    "pledge.save": _("保存承诺"),
    "pledge.submit": _("提交承诺"),
    "publicity.close": _("结束公示"),
    "publicity.open": _("发布公示"),
    "role.assign": _("任命职务"),
    "security.two_factor_roles": _("调整两步验证要求"),
    "security.password_login": _("调整密码登录范围"),
    "role.revoke": _("撤销职务"),
    "review_settings.save": _("修改评议流程设置"),
    "rollover.start": _("年度切换"),
    "roster.export": _("导出名册"),
    "roster.import": _("导入名册"),
    "roster.update": _("按名册更新党员信息"),
    "scheme.approve": _("批准评分细则"),
    "scheme.derive": _("派生评分细则"),
    "scheme.item_remove": _("删除评分项目"),
    "scheme.item_save": _("保存评分项目"),
    "scheme.new_version": _("评分细则新版本"),
    "scheme.publish": _("发布评分细则"),
    "scheme.return": _("退回评分细则"),
    "scheme.attendance_rule_remove": _("删除会议考勤记分规则"),
    "scheme.attendance_rule_save": _("保存会议考勤记分规则"),
    "scheme.rule_remove": _("删除结果规则"),
    "scheme.rule_save": _("保存结果规则"),
    "scheme.submit": _("提交评分细则审批"),
    "scheme.update": _("修改评分细则"),
    "self_assessment.reopen": _("开放自评补交"),
    "self_assessment.submit": _("提交自查自评"),
    "spot_check.close": _("结束抽查"),
    "spot_check.draw": _("抽取台账抽查"),
    "spot_check.review": _("审阅抽查记录"),
    "user.close": _("停用账号"),
    "user.api_token_create": _("创建接口令牌"),
    "user.api_token_revoke": _("撤销接口令牌"),
    "user.create": _("开通账号"),
    "user.email_notifications": _("设置邮件通知"),
    "user.notify_channels": _("设置通知渠道"),
    "user.password_change": _("修改密码"),
    "user.password_reset": _("通过邮件重设密码"),
    "user.password_reset_by_manager": _("重置密码（一次性密码）"),
    "user.reopen": _("重新开通账号"),
    "user.two_factor_disable": _("停用双因素认证"),
    "user.two_factor_enable": _("启用双因素认证"),
    "user.two_factor_reset": _("重置双因素认证"),
    "work_report.return": _("退回工作报告"),
    "work_report.submit": _("提交工作报告"),
}


class AuditEvent(models.Model):
    """Who did what to which object, when and why, with the state before and after.

    Append-only (the database refuses UPDATE and DELETE) and hash-chained: each event's hash
    covers its own content and the hash of the event before it on its chain, so an edited, removed
    or inserted row breaks the chain. Each organization has a chain (`chain` = its id when the
    event was written); events with no organization, and every event written before the chains
    were per organization, are on the root chain 0 (partyscore/core/audit.py).
    """

    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    target_type = models.CharField(_("对象类型"), max_length=64)
    target_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    target_repr = models.CharField(_("对象"), max_length=200, blank=True)
    organization = models.ForeignKey(
        "members.Organization",
        verbose_name=_("所属组织"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    before = models.JSONField(_("变更前"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("变更后"), null=True, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(_("原因"), blank=True)
    chain = models.IntegerField(default=0, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["chain", "id"], name="auditevent_chain_id"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_repr}"

    @property
    def action_label(self):
        return ACTION_LABELS.get(self.action) or _("其他操作")


class ChainAnchor(models.Model):
    """One anchoring of the hash chains (the ledger's and the audit log's, one per organization):
    the heads of the chains that moved since the anchor before, in `heads` as
    {table: {chain: [id, hash]}}, and the highest id seen of each table in `upto`.

    Append-only and chained itself: each anchor's hash covers its heads and the previous anchor's
    hash, so the newest anchor vouches for every chain's head as last anchored. Written every few
    minutes by Celery beat and by each intact `verify_ledger`; the newest one's id and hash are
    kept in the anchor file off the database (scoring/chain_verify.py).
    """

    created_at = models.DateTimeField(default=timezone.now)
    heads = models.JSONField()
    upto = models.JSONField()
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("哈希链锚点")
        verbose_name_plural = _("哈希链锚点")

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.hash[:12]}"


# On PostgreSQL the audit log is partitioned by the year (in Beijing) of `created_at` (partyscore 0009).
AUDIT_PARTITIONS = YearPartitions(AuditEvent._meta.db_table, "created_at", timestamp=True)


class AccessLog(models.Model):
    """Sign-ins, sign-in failures, sign-outs, refused requests, imports and exports (partyscore/core/access_log.py).

    Not the audit log: that one proves who changed which score and is kept for good; this one
    shows who came and what they took, and is purged after SECURITY_LOG_RETENTION_DAYS.
    """

    class Kind(models.TextChoices):
        LOGIN = "login", _("登录成功")
        LOGIN_FAILED = "login_failed", _("登录失败")
        LOGOUT = "logout", _("退出登录")
        DENIED = "denied", _("拒绝访问")
        IMPORT = "import", _("导入")
        EXPORT = "export", _("导出")

    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The name typed on a failed sign-in (there is no user then), the user's own otherwise.
    username = models.CharField(_("用户名"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=300, blank=True)
    path = models.CharField(_("请求地址"), max_length=500, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("安全日志")
        verbose_name_plural = _("安全日志")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.kind} {self.username}"


# ── notices (通知) and their deliveries ───────────────────────────────────────────────────────


class Notification(models.Model):
    """Something a person must act on or should know; also e-mailed when an address is known."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(_("内容"), max_length=300)  # in Chinese, as e-mailed
    # The sentence's msgid and parameters (partyscore/core/notices.py), shown in the reader's language.
    template = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.message

    @property
    def text(self):
        """The notice in the reader's language; as stored where it has no template (or it no longer fits)."""
        from .notices import render

        if not self.template:
            return self.message
        try:
            return render(self.template, self.params)
        except (KeyError, TypeError, ValueError):
            return self.message


class Delivery(models.Model):
    """One notice on its way through one channel other than the in-app list (partyscore/core/delivery.py):
    what was tried, how often, and how it ended. The notice itself never depends on it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        RETRYING = "retrying", _("重试中")
        SENT = "sent", _("已送达")
        FAILED = "failed", _("发送失败")

    TRANSITIONS = {
        "send": ({"pending", "retrying"}, "sent"),
        "retry": ({"pending", "retrying"}, "retrying"),
        "fail": ({"pending", "retrying"}, "failed"),
    }

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("渠道"), max_length=20)
    address = models.CharField(_("接收地址"), max_length=254)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.CharField(_("最近错误"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("通知投递")
        verbose_name_plural = _("通知投递")
        ordering = ["-updated_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel")]
        indexes = [models.Index(fields=["status", "-updated_at"])]

    def __str__(self):
        return f"{self.channel} → {self.address}: {self.status}"
