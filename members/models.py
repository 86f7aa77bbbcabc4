"""The organization tree, members, accounts and role assignments.

Terms: 党委 committee, 党总支/二级党委 general branch (college committee), 党支部 branch;
正式党员 full member, 预备党员 probationary member; 教职工/学生 staff/student; 党员干部 cadre.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A login account. The username is the staff or student number (工号/学号).

    Mass representatives (群众代表) may hold an account with no member record.
    """

    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    must_change_password = models.BooleanField(_("首次登录须修改密码"), default=False)
    email_notifications = models.BooleanField(_("同时通过邮件接收通知"), default=True)
    # Where else notices reach this person (partyscore/core/channels.py): the channels they chose among those
    # the deployment switched on, and their account in each messaging service (the phone number is
    # the roster's, Member.phone).
    notify_channels = models.JSONField(_("通知渠道"), default=list, blank=True)
    wecom_userid = models.CharField(_("企业微信账号"), max_length=64, blank=True)
    dingtalk_userid = models.CharField(_("钉钉账号"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("账号")
        verbose_name_plural = _("账号")

    def get_full_name(self):
        return self.full_name or self.username

    def __str__(self):
        return f"{self.full_name}（{self.username}）" if self.full_name else self.username


class Organization(models.Model):
    """One node of the tree: committee → general branch (college committee) → branch.

    `path` is a materialized path ("000001/000004/000017/"), so "everything below this node"
    is one indexed prefix query.
    """

    class Kind(models.TextChoices):
        COMMITTEE = "committee", _("党委")
        GENERAL_BRANCH = "general_branch", _("党总支/二级党委")
        BRANCH = "branch", _("党支部")

    class Category(models.TextChoices):
        STAFF = "staff", _("教职工")
        STUDENT = "student", _("学生")
        MIXED = "mixed", _("混合")

    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("代码"), max_length=32, unique=True)
    kind = models.CharField(_("层级"), max_length=20, choices=Kind.choices)
    category = models.CharField(_("党员类别"), max_length=10, choices=Category.choices, default=Category.MIXED)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级组织"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    show_board_to_members = models.BooleanField(_("向本支部党员公开积分榜"), default=False)
    # 撤销: from this date the node takes no new members, entries or roles; its history stays.
    closed_on = models.DateField(_("撤销日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("党组织")
        verbose_name_plural = _("党组织")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="org_unique_name_under_parent"),
            models.CheckConstraint(
                condition=Q(kind="committee", parent__isnull=True) | (~Q(kind="committee") & Q(parent__isnull=False)),
                name="org_only_committee_is_root",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_branch(self):
        return self.kind == self.Kind.BRANCH

    def is_closed_on(self, day):
        """Closed (撤销) on or before `day`."""
        return self.closed_on is not None and self.closed_on <= day

    def ancestor_paths(self):
        """The paths of this node and every node above it, nearest last."""
        parts = self.path.rstrip("/").split("/")
        return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


# The kind of node each kind holds below it: the tree is committee → general branch → branch.
CHILD_KIND = {
    Organization.Kind.COMMITTEE: Organization.Kind.GENERAL_BRANCH,
    Organization.Kind.GENERAL_BRANCH: Organization.Kind.BRANCH,
}


class Member(models.Model):
    """A party member (党员) in a branch; scored under the scheme for their category."""

    class Category(models.TextChoices):
        STAFF = "staff", _("教职工")
        STUDENT = "student", _("学生")

    class Status(models.TextChoices):
        FULL = "full", _("正式党员")
        PROBATIONARY = "probationary", _("预备党员")

    # The dated status events that move it (MemberStatusEvent); the roster's edit and import correct it instead.
    TRANSITIONS = {"full_membership": ({"probationary"}, "full")}

    number = models.CharField(
        _("学号/工号"), max_length=32, unique=True, error_messages={"unique": _("该学号/工号已存在")}
    )
    name = models.CharField(_("姓名"), max_length=50)
    category = models.CharField(_("类别"), max_length=10, choices=Category.choices)
    status = models.CharField(_("党员身份"), max_length=15, choices=Status.choices, default=Status.FULL)
    probation_start = models.DateField(_("预备期开始日期"), null=True, blank=True)
    is_cadre = models.BooleanField(_("党员干部"), default=False)
    cadre_post = models.CharField(_("干部职务"), max_length=100, blank=True)
    # 党小组: the party group within the branch, where the branch has them (meetings, bulk entry).
    party_group = models.CharField(_("党小组"), max_length=50, blank=True)
    # 转正日期: set by the 转正 status event; probationary rules apply to the years before it.
    full_member_on = models.DateField(_("转正日期"), null=True, blank=True)
    branch = models.ForeignKey(
        Organization,
        verbose_name=_("所属党支部"),
        on_delete=models.PROTECT,
        related_name="members",
        limit_choices_to={"kind": Organization.Kind.BRANCH},
    )
    joined_party_on = models.DateField(_("入党日期"), null=True, blank=True)
    joined_branch_on = models.DateField(_("转入本支部日期"), null=True, blank=True)
    left_on = models.DateField(_("离开党组织日期"), null=True, blank=True)
    exempt = models.BooleanField(_("免于记分"), default=False)
    exemption_reason = models.CharField(_("免于记分原因"), max_length=200, blank=True)
    exemption_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("免于记分审批人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    exemption_approved_at = models.DateTimeField(_("免于记分审批时间"), null=True, blank=True)
    phone = models.CharField(_("手机"), max_length=20, blank=True)
    email = models.EmailField(_("邮箱"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="member",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("党员")
        verbose_name_plural = _("党员")
        ordering = ["branch__path", "number"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="probationary") | Q(probation_start__isnull=False),
                name="member_probation_has_start",
                violation_error_message=_("预备党员须填写预备期开始日期"),
            ),
            models.CheckConstraint(
                condition=Q(exempt=False) | ~Q(exemption_reason=""),
                name="member_exemption_has_reason",
                violation_error_message=_("免于记分须填写原因"),
            ),
        ]
        indexes = [models.Index(fields=["branch", "name"])]

    def __str__(self):
        return f"{self.name}（{self.number}）"

    @property
    def is_active(self):
        return self.left_on is None


class MemberStatusEvent(models.Model):
    """A dated, reasoned change of a member's party status, shown as the member's history.

    转正 makes a probationary member a full member on its date; 延长预备期 keeps the member
    probationary; every other kind ends the membership here on its date (`Member.left_on`), which
    scoring treats by the leave rules (not scored or ranked from that year, no entries after it).
    """

    class Kind(models.TextChoices):
        FULL_MEMBERSHIP = "full_membership", _("按期转为正式党员（转正）")
        PROBATION_EXTENDED = "probation_extended", _("延长预备期")
        PROBATION_CANCELLED = "probation_cancelled", _("取消预备党员资格")
        EXPELLED = "expelled", _("开除党籍")
        REMOVED = "removed", _("除名")
        PERSUADED_TO_LEAVE = "persuaded_to_leave", _("劝其退党")
        WITHDREW = "withdrew", _("退党")
        SUSPENDED = "suspended", _("停止党籍")
        TRANSFERRED_OUT = "transferred_out", _("组织关系转出学校")
        GRADUATED = "graduated", _("毕业离校")

    # Kinds that end the membership in this university's party organization on their date.
    LEAVING = frozenset(
        {
            "probation_cancelled",
            "expelled",
            "removed",
            "persuaded_to_leave",
            "withdrew",
            "suspended",
            "transferred_out",
            "graduated",
        }
    )
    # Kinds only a probationary member can have.
    PROBATION_ONLY = frozenset({"full_membership", "probation_extended", "probation_cancelled"})

    member = models.ForeignKey(Member, verbose_name=_("党员"), on_delete=models.PROTECT, related_name="status_events")
    kind = models.CharField(_("身份变化"), max_length=24, choices=Kind.choices)
    occurred_on = models.DateField(_("日期"))
    until = models.DateField(_("延长至"), null=True, blank=True)
    reason = models.CharField(_("原因及依据"), max_length=300)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("党员身份变化")
        verbose_name_plural = _("党员身份变化")
        ordering = ["-occurred_on", "-id"]

    def __str__(self):
        return f"{self.member} {self.get_kind_display()} {self.occurred_on}"


class MemberTransfer(models.Model):
    """A member's move from one branch to another (转接); the history stays when they move."""

    member = models.ForeignKey(Member, verbose_name=_("党员"), on_delete=models.PROTECT, related_name="transfers")
    from_branch = models.ForeignKey(
        Organization, verbose_name=_("转出支部"), on_delete=models.PROTECT, related_name="+"
    )
    to_branch = models.ForeignKey(Organization, verbose_name=_("转入支部"), on_delete=models.PROTECT, related_name="+")
    transferred_on = models.DateField(_("转接日期"))
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("组织关系转接")
        verbose_name_plural = _("组织关系转接")
        ordering = ["-transferred_on", "-id"]

    def __str__(self):
        return f"{self.member} {self.from_branch} → {self.to_branch}"


class Role(models.TextChoices):
    """Roles held at a node of the tree. Each maps to object permissions (see permissions.py)."""

    ORG_DEPARTMENT = "org_department", _("组织部工作人员")
    GENERAL_BRANCH_SECRETARY = "general_branch_secretary", _("党总支书记")
    BRANCH_SECRETARY = "branch_secretary", _("党支部书记")
    BRANCH_COMMITTEE = "branch_committee", _("支委委员")
    PANEL_MEMBER = "panel_member", _("考评小组成员")
    RECORDER = "recorder", _("记分员")
    MASS_REPRESENTATIVE = "mass_representative", _("群众代表")


class RoleAssignmentQuerySet(models.QuerySet):
    """The one definition of a term in force: every permission check and every list of role holders
    reads it, so a term that ends, starts or is revoked counts the same everywhere, at once."""

    def not_over_on(self, day):
        """Not revoked and not ended before `day`: in force that day, or yet to begin."""
        return self.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day), revoked_at__isnull=True)

    def active_on(self, day=None):
        """In force on `day` (today in TIME_ZONE, Asia/Shanghai, when not given): begun, not ended
        before it, not revoked."""
        day = day or timezone.localdate()
        return self.not_over_on(day).filter(starts_on__lte=day)


class RoleAssignment(models.Model):
    """A user holds a role at an organization for a term. The source of truth for permissions:
    they are derived from the terms in force (`active_on`) by `members.permissions`, never stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("账号"), on_delete=models.PROTECT, related_name="role_assignments"
    )
    organization = models.ForeignKey(
        Organization, verbose_name=_("党组织"), on_delete=models.PROTECT, related_name="role_assignments"
    )
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)
    starts_on = models.DateField(_("任期开始"))
    ends_on = models.DateField(_("任期结束"), null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("角色任命")
        verbose_name_plural = _("角色任命")
        ordering = ["organization__path", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "role"],
                condition=Q(revoked_at__isnull=True),
                name="role_one_active_per_user_org_role",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="role_term_ends_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.organization} · {self.get_role_display()}"


class TwoFactorRequirement(models.Model):
    """A role whose holders must use the second factor (两步验证) before anything else, as the
    committee's organization department decided; a role the deployment requires
    (TWO_FACTOR_REQUIRED_ROLES) is required whatever is stored here."""

    role = models.CharField(_("角色"), max_length=30, choices=Role.choices, unique=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(_("设置时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("两步验证要求")
        verbose_name_plural = _("两步验证要求")

    def __str__(self):
        return self.get_role_display()


class PasswordLoginPolicy(models.Model):
    """The committee's switch (one row): while a campus single sign-on is configured and this is on,
    accounts of party members log in only through 统一身份认证; accounts without a member record
    (mass representatives, who have no campus identity) keep their password login."""

    members_use_campus_login = models.BooleanField(_("党员只能通过统一身份认证登录"), default=False)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(_("设置时间"), auto_now=True)

    class Meta:
        verbose_name = _("密码登录范围")
        verbose_name_plural = _("密码登录范围")

    def __str__(self):
        return str(self.members_use_campus_login)


class ApiToken(models.Model):
    """A personal token for the REST API (接口令牌): only its SHA-256 digest is kept; the token itself is
    shown once when made. Revoking sets `revoked_at`, and the next request with it is refused."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=60)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("前缀"), max_length=8)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
