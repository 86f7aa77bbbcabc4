"""The two policies as loadable reference schemes (POLICIES.md; seeds 000 and 003).

The seeds do not contain their item tables: the items below are a SAMPLE (示例), marked as such
on the scheme, for the committee to edit. The compositions and outcome rules are the policies'.
"""

from django.utils.translation import gettext_noop

from .models import MemberCategory, OutcomeRule, PeriodKind, RuleItem, Scheme

C = OutcomeRule.Consequence
BASE, BONUS, PENALTY, VETO = RuleItem.Kind.BASE, RuleItem.Kind.BONUS, RuleItem.Kind.PENALTY, RuleItem.Kind.VETO


def item(kind, code, title, low, high, **extra):
    return {"kind": kind, "code": code, "title": title, "points_min": low, "points_max": high, **extra}


def absence(item_code, points):
    """An unexcused absence from any meeting deducts `points` on a base item; presence and leave record
    nothing until a branch adds a rule for them."""
    return {"meeting_kind": "", "status": "absent", "item_code": item_code, "points": points}


def rule(code, kind, consequence, label, applies_to="all", **params):
    """`label` is stored in Chinese (it becomes each outcome's reason) and marked for translation, so
    the `stored_text` filter shows a preset's wording in English to an English reader."""
    return {
        "code": code,
        "kind": kind,
        "consequence": consequence,
        "label": label,
        "applies_to": applies_to,
        "params": params,
    }


POLICY_A_RULES = [
    rule("A-NOT-EXCELLENT", "band", C.NOT_EXCELLENT, gettext_noop("积分低于90分，不得确定为年度考核优秀"), upper=90),
    rule("A-PRIORITY", "band", C.PRIORITY, gettext_noop("积分90分以上，优先作为评先评优参评对象"), lower=90),
    rule(
        "A-SHARE-95",
        "share_cap",
        C.SHARE_CAP,
        gettext_noop("95分以上人数不得超过本支部5%"),
        at_or_above=95,
        share="0.05",
    ),
    rule(
        "A-CADRE-TALK",
        "rank_last",
        C.TALK,
        gettext_noop("党员干部积分低于80分且为本支部最后一名，由组织部门提醒谈话"),
        "cadre",
        below=80,
    ),
    rule(
        "A-CADRE-NO-PROMOTION",
        "streak",
        C.NOT_PROMOTED,
        gettext_noop("连续两年低于80分且为本支部最后一名，下一年度不得提拔重用"),
        "cadre",
        of="A-CADRE-TALK",
        years=2,
    ),
    rule(
        "A-YELLOW",
        "band",
        C.YELLOW,
        gettext_noop("黄色预警（60—70分），由支部书记约谈"),
        lower=60,
        upper=70,
        upper_inclusive=True,
    ),
    rule(
        "A-YELLOW-PROBATION",
        "band",
        C.PROBATION,
        gettext_noop("黄色预警的预备党员，可延长预备期"),
        "probationary",
        lower=60,
        upper=70,
        upper_inclusive=True,
    ),
    rule(
        "A-RED",
        "band",
        C.RED,
        gettext_noop("红色预警（低于60分），经民主评议认定为不合格党员，限期改正，取消本年度评先评优资格"),
        upper=60,
    ),
    rule(
        "A-RED-PROBATION",
        "band",
        C.PROBATION,
        gettext_noop("红色预警的预备党员，可取消预备党员资格"),
        "probationary",
        upper=60,
    ),
    rule(
        "A-RED-TWO-YEARS",
        "streak",
        C.UNQUALIFIED,
        gettext_noop("连续两年积分低于60分，直接列为不合格党员，进行组织处置"),
        of="A-RED",
        years=2,
    ),
]

POLICY_A_STAFF = {
    "name": "教职工党员“先锋亮绩、积分管理”评分参考标准（示例）",
    "member_category": MemberCategory.STAFF,
    "composition": Scheme.Composition.HUNDRED,
    "pipeline": Scheme.Pipeline.VANGUARD,
    "base_points": 60,
    "bonus_cap": 40,
    "floor": 0,
    "cap": 100,
    "aggregation": Scheme.Aggregation.MEAN,
    "period_kind": PeriodKind.SEMESTER,
    "items": [
        item(BASE, "A-B01", "按时参加组织生活和“三会一课”", 1, 5, cap_per_period=20),
        item(BASE, "A-B02", "按时足额交纳党费", 2, 10, times_per_period=1),
        item(BASE, "A-B03", "参加政治理论学习", 1, 5, cap_per_period=15),
        item(BASE, "A-B04", "遵守党的纪律和规矩", 5, 20),
        item(BASE, "A-B05", "完成党组织交办的任务", 1, 10),
        item(
            BONUS,
            "A-C01",
            "教学科研工作业绩突出",
            1,
            10,
            cap_per_period=15,
            evidence_required=True,
            member_may_declare=True,
        ),
        item(BONUS, "A-C02", "参加志愿服务、奉献社会", 1, 5, member_may_declare=True),
        item(BONUS, "A-C03", "获得校级以上表彰", 2, 10, evidence_required=True, member_may_declare=True),
        item(BONUS, "A-C04", "结对帮扶学生或困难群众", 1, 5, member_may_declare=True),
        item(BONUS, "A-C05", "宣传党的路线方针政策", 1, 5),
    ],
    "rules": [
        *POLICY_A_RULES,
        rule(
            "A-COMMEND-STAFF",
            "commendation",
            C.COMMENDATION,
            gettext_noop("结合“七一”每两年表彰95分以上教职工优秀党员"),
            "staff",
            at_or_above=95,
            every_years=2,
            anchor_year=2018,
        ),
    ],
    "attendance": [absence("A-B01", 2)],
}

POLICY_A_STUDENT = {
    "name": "学生党员“先锋亮绩、积分管理”评分参考标准（示例）",
    "member_category": MemberCategory.STUDENT,
    "composition": Scheme.Composition.HUNDRED,
    "pipeline": Scheme.Pipeline.VANGUARD,
    "base_points": 60,
    "bonus_cap": 40,
    "floor": 0,
    "cap": 100,
    "aggregation": Scheme.Aggregation.MEAN,
    "period_kind": PeriodKind.SEMESTER,
    "items": [
        item(BASE, "A-B01", "按时参加组织生活和“三会一课”", 1, 5, cap_per_period=20),
        item(BASE, "A-B02", "按时足额交纳党费", 2, 10, times_per_period=1),
        item(BASE, "A-B03", "参加政治理论学习", 1, 5, cap_per_period=15),
        item(BASE, "A-B04", "遵守党的纪律和校规校纪", 5, 20),
        item(BASE, "A-B06", "学业考核合格（无不及格课程）", 2, 10),
        item(BONUS, "A-C11", "学业成绩优异、获得奖学金", 2, 10, evidence_required=True, member_may_declare=True),
        item(BONUS, "A-C12", "学科竞赛、创新创业获奖", 2, 10, evidence_required=True, member_may_declare=True),
        item(BONUS, "A-C13", "担任学生干部、服务同学", 1, 5, member_may_declare=True),
        item(BONUS, "A-C14", "参加志愿服务、社会实践", 1, 5, member_may_declare=True),
        item(BONUS, "A-C15", "帮扶学业困难同学", 1, 5),
    ],
    "rules": [
        *POLICY_A_RULES,
        rule(
            "A-COMMEND-STUDENT",
            "commendation",
            C.COMMENDATION,
            gettext_noop("每年下半年表彰95分以上学生优秀党员"),
            "student",
            at_or_above=95,
            every_years=1,
        ),
    ],
    "attendance": [absence("A-B01", 2)],
}

POLICY_B = {
    "name": "党员亮化记分参考标准（示例）",
    "member_category": MemberCategory.ALL,
    "composition": Scheme.Composition.ADDITIVE,
    "pipeline": Scheme.Pipeline.TALLY,
    "base_points": 80,
    "bonus_cap": None,
    "floor": 0,
    "cap": None,
    "aggregation": Scheme.Aggregation.SUM,
    "period_kind": PeriodKind.QUARTER,
    "items": [
        item(BASE, "B-BASE-ID", "亮明身份（工作期间和集体活动佩戴党徽）", 1, 2),
        item(BASE, "B-BASE-LIFE", "按时参加党的组织生活", 1, 2),
        item(BASE, "B-BASE-FEE", "及时足额交纳党费", 1, 2),
        item(BASE, "B-BASE-LOYAL", "对党忠诚老实、服从组织分配", 1, 2),
        item(BASE, "B-BASE-DISC", "严守党的政治纪律和政治规矩", 1, 2),
        item(BONUS, "B-ADD-01", "宣传落实党的路线方针政策", 1, 5, member_may_declare=True),
        item(BONUS, "B-ADD-02", "发扬党的优良传统和作风", 1, 5, member_may_declare=True),
        item(
            BONUS,
            "B-ADD-03",
            "密切联系服务群众、主动参与奉献社会",
            1,
            5,
            member_may_declare=True,
            evidence_required=True,
        ),
        item(BONUS, "B-ADD-04", "立足本职做出突出成绩", 1, 5, member_may_declare=True, evidence_required=True),
        item(PENALTY, "B-SUB-01", "工作中出现失误、疏漏", 1, 5),
        item(PENALTY, "B-SUB-02", "不尽责、不作为、乱作为", 1, 5),
        item(VETO, "B-VETO-01", "受到党纪政务处分等一票否决情形", 0, 0),
    ],
    "rules": [
        rule("B-EXCELLENT", "band", C.EXCELLENT_ELIGIBLE, gettext_noop("记分85分以上，方可评为优秀党员"), lower=85),
        rule(
            "B-ADMONISH",
            "band",
            C.TALK,
            gettext_noop("记分低于75分或不亮明身份，由党支部诫勉谈话"),
            upper=75,
            item_codes=["B-BASE-ID"],
        ),
        rule(
            "B-UNQUALIFIED",
            "band",
            C.UNQUALIFIED,
            gettext_noop("记分低于60分，认定为不合格党员的，按规定稳慎处置"),
            upper=60,
        ),
    ],
    "attendance": [absence("B-BASE-LIFE", 1)],
}

PRESETS = {"A-staff": POLICY_A_STAFF, "A-student": POLICY_A_STUDENT, "B": POLICY_B}

# Default deadlines of a year, by policy: (code, title, month, day, next_year).
DEADLINES = {
    "A": [
        ("A-PLEDGES", "党员递交书面先锋承诺书", 3, 31, False),
        ("A-RULES", "支部评分细则报学院党委审核", 5, 31, False),
        ("A-S1-SELF", "第一学期党员自查自评", 6, 30, False),
        ("A-S1-PANEL", "第一学期考评小组评分", 7, 15, False),
        ("A-S2-SELF", "第二学期党员自查自评", 11, 30, False),
        ("A-S2-PANEL", "第二学期考评小组评分", 12, 5, False),
        ("A-MASSES", "收集群众评价意见（征求意见表、座谈会）", 12, 10, False),
        ("A-MEETING", "召开党员大会综合评定（定绩）", 12, 31, False),
        ("A-REPORT", "支部、学院工作报告上报", 1, 10, True),
    ],
    "B": [
        ("B-PLEDGES", "党员作出公开承诺（含至少 1 件实事承诺）", 3, 31, False),
        *[(f"B-M{m:02d}", f"{m}月份承诺践诺情况公示", m % 12 + 1, 5, m == 12) for m in range(1, 13)],
        ("B-Q1", "第一季度记分情况公开", 4, 10, False),
        ("B-Q2", "第二季度记分情况公开", 7, 10, False),
        ("B-Q3", "第三季度记分情况公开", 10, 10, False),
        ("B-Q4", "第四季度及年度记分情况公开", 1, 10, True),
    ],
}
