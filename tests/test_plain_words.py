"""No page says anything in code: no raw dict, list or dotted audit action on any page any role opens
(every GET the authorization matrix sends, as every role it lets in), rule parameters read as
sentences, audit actions as Chinese labels, and the points card says how the total is made."""

import html
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.urls import reverse

from members.models import MemberStatusEvent
from partyscore.core.models import ACTION_LABELS, AuditEvent
from scoring.policy import explain_total
from scoring.rule_kinds import describe_params

from .test_authorization_matrix import (
    MATRIX,
    ROLES,
    log_in_as,
    matrix_world,  # noqa: F401 (fixture)
    url_for,
)

ROOT = Path(__file__).resolve().parents[1]
RAW = [
    re.compile(p)
    for p in (
        r"\{\s*['\"]",
        r"\[\s*['\"]",
        r"\{\}",
        r"\[\]",
        r"<QuerySet",
        r"Decimal\(",
        r"datetime\.date\(",
        r"\bNone\b",
        r"\bTrue\b",
        r"\bFalse\b",
    )
]
DOTTED = re.compile(
    r"\b(" + "|".join(re.escape(code) for code in sorted(ACTION_LABELS, key=len, reverse=True)) + r")\b"
)


def visible_text(page):
    """What a reader sees: no scripts, styles, tags or attribute values."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def raw_bits(text):
    found = [m.group(0) for pattern in RAW for m in pattern.finditer(text)]
    return found + [m.group(0) for m in DOTTED.finditer(text)]


def test_no_page_of_any_role_shows_a_raw_structure_or_an_action_code(matrix_world, client):  # noqa: F811
    AuditEvent.objects.exists()  # the world's own services wrote audit events: the audit page lists them
    problems, pages = [], 0
    for name, checks in MATRIX.items():
        for check in checks:
            if check.method != "GET" or check.ends_at_login:
                continue
            target = matrix_world.targets.get(check.target)
            url = url_for(name, target, check.kwargs, matrix_world)
            for role in ROLES:
                if role not in check.allowed:
                    continue
                log_in_as(client, matrix_world.users[role])
                response = client.get(url)
                if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
                    continue
                pages += 1
                found = raw_bits(visible_text(response.content.decode()))
                if found:
                    problems.append(f"{name} [{check.target or '-'}] as {role}: {sorted(set(found))[:5]}")
    assert pages > 150
    assert problems == [], "\n".join(problems)


def test_the_sweep_finds_what_it_looks_for():
    page = '<p>参数 {"lower": 60}</p><td>ledger.record</td><a href="/x?a.b">x</a><script>var a = [];</script>'
    assert raw_bits(visible_text(page)) == ['{"', "ledger.record"]


def test_every_audit_action_the_code_writes_has_a_chinese_label():
    written = set()
    for path in (
        *ROOT.glob("members/**/*.py"),
        *ROOT.glob("scoring/**/*.py"),
        *ROOT.glob("reviews/**/*.py"),
        *ROOT.glob("partyscore/**/*.py"),
    ):
        text = path.read_text()
        written |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', text))
        written |= set(re.findall(r'_audit\([^,()]+, "([a-z_]+\.[a-z_]+)"', text))
    written |= {"branch.commend", "branch.criticise"}  # partyscore/dashboards/services.py: f"branch.{kind}"
    written |= {f"member.status.{kind}" for kind in MemberStatusEvent.Kind.values}  # members/services.py
    assert len(written) > 50
    assert written - set(ACTION_LABELS) == set()


def test_the_audit_page_names_actions_in_chinese(world, client):
    client.force_login(world.org_department)
    text = visible_text(client.get(reverse("audit_list")).content.decode())
    assert "任命职务" in text and "role.assign" not in text


@pytest.mark.parametrize(
    "kind,params,sentence",
    [
        ("band", {"lower": 60, "upper": 70, "upper_inclusive": True}, "60—70 分（含两端）"),
        ("band", {"lower": 70, "upper": 80}, "70—80 分（含 70 分）"),
        ("band", {"upper": 90}, "<90 分"),
        ("band", {"lower": 90}, "≥90 分"),
        ("band", {"upper": 75, "item_codes": ["B-BASE-ID"]}, "<75 分，或记有项目 「亮明身份」"),
        ("share_cap", {"at_or_above": 95, "share": "0.05"}, "≥95 分者不超过本支部 5%"),
        ("rank_last", {"below": 80}, "低于 80 分且为本支部最后一名"),
        ("streak", {"of": "A-CADRE-TALK", "years": 2}, "连续 2 年触发「干部谈话」"),
        (
            "commendation",
            {"at_or_above": 98, "every_years": 2, "anchor_year": 2025},
            "≥98 分，每 2 年表彰一次（自 2025 年起）",
        ),
    ],
)
def test_rule_parameters_read_as_sentences(kind, params, sentence):
    assert (
        describe_params(kind, params, rule_labels={"A-CADRE-TALK": "干部谈话"}, item_titles={"B-BASE-ID": "亮明身份"})
        == sentence
    )


def test_the_scheme_page_shows_the_conditions_as_sentences(world, client):
    from .test_authorization_matrix import add_scoring

    reference, *_rest = add_scoring(world)
    client.force_login(world.secretary)
    text = visible_text(client.get(reverse("scheme_detail", args=[reference.pk])).content.decode())
    assert "≥95 分者不超过本支部 5%" in text and "60—70 分（含两端）" in text and "{'" not in text


def _scheme(**fields):
    return SimpleNamespace(
        **{
            "composition": "hundred",
            "base_points": 60,
            "bonus_cap": 40,
            "floor": 0,
            "cap": 100,
            "aggregation": "mean",
            **fields,
        }
    )


def test_the_points_card_explains_a_policy_a_total():
    total = SimpleNamespace(
        total=7150, base=-1000, bonus=2300, penalty=0, vetoed=False, period_scores={"1": 6900, "2": 7400}
    )
    lines = explain_total(_scheme(), total, {1: "第一学期", 2: "第二学期"})
    assert lines[0] == "每期得分 = 基础积分 60 分 − 基础扣分 − 减分（最低 0 分）+ 贡献积分（每期最多 40 分）。"
    assert lines[1] == "年度总分 = 各期平均（第一学期 69 分、第二学期 74 分）= 71.5 分。"


def test_the_points_card_explains_a_policy_b_total():
    total = SimpleNamespace(total=8300, base=-200, bonus=700, penalty=-200, vetoed=False, period_scores={})
    lines = explain_total(_scheme(composition="additive", base_points=80, cap=None), total, {})
    assert lines == ["年度总分 = 基础分 80 − 基础扣分 2 + 加分 7 − 减分 2 = 83 分。"]
