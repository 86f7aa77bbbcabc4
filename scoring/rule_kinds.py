"""The kinds of outcome rule, each declared once: its parameters (what `OutcomeRule` accepts on every
path that stores one, and what the scheme editor shows as fields), the `scoring.policy` functions that
evaluate and describe it, and what it does in words.

A rule's parameters are JSON; `param_errors` is the one check of them. Points are numbers (or
numeric strings) in whole hundredths; a share is a fraction 0 < x ≤ 1, stored as a string ("0.05").
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import policy
from .points import to_centi

POINTS, SHARE, WHOLE, FLAG, RULE_CODE, ITEM_CODES = "points", "share", "whole", "flag", "rule_code", "item_codes"
MAX_POINTS = Decimal("9999.99")  # the widest points field of a scheme (max_digits=6, decimal_places=2)


@dataclass(frozen=True)
class Param:
    """One parameter. `minimum`/`maximum` bound points and whole numbers (both ends included);
    `qualifies` names the bound a FLAG belongs to (lower_inclusive → lower)."""

    name: str
    type: str
    label: str
    help: str = ""
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    default: object = None
    qualifies: str | None = None


@dataclass(frozen=True)
class RuleKind:
    """`evaluate(rule, members, branch)` gives (member_id, reason) for the members the rule applies to
    (`evaluate_branch`); `after_others` kinds look at the findings of the rest (streaks).
    `describe(params, rule_labels, item_titles)` is the parameters as a sentence."""

    code: str
    summary: str
    params: tuple
    required: tuple
    evaluate: object
    describe: object
    after_others: bool = False

    def param(self, name):
        return next(p for p in self.params if p.name == name)


LOWER = Param(
    "lower",
    POINTS,
    gettext_lazy("分数段下限（分）"),
    gettext_lazy("不填表示不设下限"),
    minimum=Decimal(0),
    maximum=MAX_POINTS,
)
LOWER_INCLUSIVE = Param("lower_inclusive", FLAG, gettext_lazy("含下限"), default=True, qualifies="lower")
UPPER = Param(
    "upper",
    POINTS,
    gettext_lazy("分数段上限（分）"),
    gettext_lazy("不填表示不设上限"),
    minimum=Decimal(0),
    maximum=MAX_POINTS,
)
UPPER_INCLUSIVE = Param("upper_inclusive", FLAG, gettext_lazy("含上限"), default=False, qualifies="upper")
ITEM_CODES_PARAM = Param(
    "item_codes",
    ITEM_CODES,
    gettext_lazy("或记有以下项目"),
    gettext_lazy("项目编号，多个用逗号分隔；记有其中任一项也触发本规则"),
)
BELOW = Param(
    "below",
    POINTS,
    gettext_lazy("低于（分）"),
    gettext_lazy("为本支部最后一名且低于此分数"),
    minimum=Decimal(0),
    maximum=MAX_POINTS,
)
OF = Param("of", RULE_CODE, gettext_lazy("连续触发的规则（编号）"), gettext_lazy("本细则中另一条规则的编号"))
YEARS = Param("years", WHOLE, gettext_lazy("连续年数"), minimum=2, maximum=10, default=2)
AT_OR_ABOVE = Param(
    "at_or_above",
    POINTS,
    gettext_lazy("分数线：不低于（分）"),
    gettext_lazy("比例上限：计入比例的分数线；表彰：受表彰的分数线"),
    minimum=Decimal(0),
    maximum=MAX_POINTS,
)
SHARE_PARAM = Param(
    "share", SHARE, gettext_lazy("人数比例上限"), gettext_lazy("达到分数线的人数不超过本支部参评党员的这一比例")
)
EVERY_YEARS = Param("every_years", WHOLE, gettext_lazy("每几年表彰一次"), minimum=1, maximum=10, default=1)
ANCHOR_YEAR = Param(
    "anchor_year",
    WHOLE,
    gettext_lazy("自哪一年起"),
    gettext_lazy("与“每几年表彰一次”一起确定表彰年度；不填则每年都是表彰年度"),
    minimum=2000,
    maximum=2100,
)

RULE_KINDS = {
    kind.code: kind
    for kind in (
        RuleKind(
            "band",
            gettext_lazy("年度总分落在一个分数段内（或记有指定项目）时触发"),
            (LOWER, LOWER_INCLUSIVE, UPPER, UPPER_INCLUSIVE, ITEM_CODES_PARAM),
            (),
            policy.evaluate_band,
            policy.describe_band_params,
        ),
        RuleKind(
            "rank_last",
            gettext_lazy("为本支部最后一名且低于某一分数时触发"),
            (BELOW,),
            ("below",),
            policy.evaluate_rank_last,
            policy.describe_rank_last_params,
        ),
        RuleKind(
            "streak",
            gettext_lazy("另一条规则连续多年触发时触发"),
            (OF, YEARS),
            ("of", "years"),
            policy.evaluate_streak,
            policy.describe_streak_params,
            after_others=True,
        ),
        RuleKind(
            "share_cap",
            gettext_lazy("达到分数线的人数超过本支部的比例上限时，对达到分数线者触发"),
            (AT_OR_ABOVE, SHARE_PARAM),
            ("at_or_above", "share"),
            policy.evaluate_share_cap,
            policy.describe_share_cap_params,
        ),
        RuleKind(
            "commendation",
            gettext_lazy("年度总分达到分数线、且在表彰年度时触发"),
            (AT_OR_ABOVE, EVERY_YEARS, ANCHOR_YEAR),
            ("at_or_above",),
            policy.evaluate_commendation,
            policy.describe_commendation_params,
        ),
    )
}


def _decimal(value):
    """A JSON number or numeric string as a finite Decimal, else None (True is no number)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _value_error(param, value):
    """What is wrong with one present parameter value, in words naming it; None when it is fine."""
    label = param.label
    if param.type == POINTS:
        number = _decimal(value)
        if number is None:
            return _("「%(param)s」须为分数（数字），而不是“%(value)s”") % {"param": label, "value": value}
        try:
            to_centi(number)
        except ValueError:
            return _("「%(param)s」最多保留两位小数") % {"param": label}
        if not param.minimum <= number <= param.maximum:
            return _("「%(param)s」须在 %(min)s 至 %(max)s 分之间") % {
                "param": label,
                "min": param.minimum,
                "max": param.maximum,
            }
    elif param.type == SHARE:
        number = _decimal(value)
        if number is None or not 0 < number <= 1:
            return _("「%(param)s」须为大于 0、不超过 1 的小数（如 0.05 表示 5%%），而不是“%(value)s”") % {
                "param": label,
                "value": value,
            }
    elif param.type == WHOLE:
        if isinstance(value, bool) or not isinstance(value, int) or not param.minimum <= value <= param.maximum:
            return _("「%(param)s」须为 %(min)s 至 %(max)s 之间的整数") % {
                "param": label,
                "min": param.minimum,
                "max": param.maximum,
            }
    elif param.type == FLAG:
        if not isinstance(value, bool):
            return _("「%(param)s」须为是或否") % {"param": label}
    elif param.type == RULE_CODE:
        if not isinstance(value, str) or not value.strip() or len(value) > 30:
            return _("「%(param)s」须为一条规则的编号（不超过 30 个字符）") % {"param": label}
    elif param.type == ITEM_CODES and (
        not isinstance(value, list) or not all(isinstance(c, str) and c.strip() and len(c) <= 20 for c in value)
    ):
        return _("「%(param)s」须为项目编号的列表（每个不超过 20 个字符）") % {"param": label}
    return None


def param_errors(kind_code, params) -> dict:
    """Everything wrong with `params` for a rule of `kind_code`: parameter name → messages (None for
    what concerns the rule as a whole). Empty when the rule can be stored and evaluated."""
    kind = RULE_KINDS.get(kind_code)
    if kind is None:
        return {None: [_("未知的规则类型“%(kind)s”") % {"kind": kind_code}]}
    if not isinstance(params, dict):
        return {None: [_("规则参数须为“参数名：值”的集合")]}
    errors = {}
    known = {p.name for p in kind.params}
    unknown = sorted(set(params) - known)
    if unknown:
        errors[None] = [_("这类规则没有参数：%(names)s") % {"names": "、".join(str(n) for n in unknown)}]
    for param in kind.params:
        if param.name not in params:  # a null is no absence: the policy would read it
            if param.name in kind.required:
                errors[param.name] = [_("缺少参数：%(param)s") % {"param": param.label}]
            continue
        message = _value_error(param, params[param.name])
        if message:
            errors[param.name] = [message]
    if kind_code == "band" and not errors:
        errors.update(_band_errors(params))
    return errors


def _band_errors(params):
    lower, upper = params.get("lower"), params.get("upper")
    if lower is None and upper is None and not params.get("item_codes"):
        return {None: [_("缺少参数：分数段下限或上限（或项目编号）")]}
    if lower is not None and upper is not None:
        low, high = _decimal(lower), _decimal(upper)
        both_ends = params.get("lower_inclusive", True) and params.get("upper_inclusive", False)
        if low > high or (low == high and not both_ends):
            return {"upper": [_("「%(param)s」须高于分数段下限") % {"param": UPPER.label}]}
    return {}


def evaluate_branch(rules: list, year: int, members: list, history: dict, *, branch_totals=None) -> dict:
    """Every rule for every member of one branch's year, each by its kind's evaluation (`rule_kinds`).

    `history` maps (member_id, year) to the set of rule codes found in that earlier year.
    `branch_totals` are the totals of every scored member of the branch, when `members` are only
    some of them (one scheme's members in a mixed branch): last place and the share cap are judged
    over the whole branch. Returns member_id → [Finding]. Streak rules come last: they look at this
    year's findings and the history.
    """
    scored = [m for m in members if m.scored and m.total is not None]
    if branch_totals is None:
        branch_totals = [m.total for m in scored]
    findings = {m.member_id: [] for m in members}
    branch = policy.BranchYear(
        year=year, totals=branch_totals, lowest=min(branch_totals, default=None), history=history, findings=findings
    )
    for after_others in (False, True):
        for rule in rules:
            kind = RULE_KINDS[rule.kind]
            if kind.after_others is not after_others:
                continue
            applicable = scored if rule.applies_to == "all" else [m for m in scored if policy.applies(rule, m)]
            for member_id, reason in kind.evaluate(rule, applicable, branch):
                findings[member_id].append(policy.Finding(rule.code, rule.consequence, reason))
    return findings


def describe_params(kind: str, params: dict, *, rule_labels=None, item_titles=None) -> str:
    """A rule's parameters as a sentence ("60—70 分（含两端）", "≥95 分者不超过本支部 5%"), for pages
    that show the rules; `rule_labels` and `item_titles` name the rules and items a rule refers to."""
    rule_kind = RULE_KINDS.get(kind)
    return rule_kind.describe(params, rule_labels or {}, item_titles or {}) if rule_kind else ""
