"""The outcome-rule registry: every kind's parameters are checked on every path that stores a rule
(model save and full_clean, bulk writes, the service, the scheme editor, preset loads, scheme copies),
and one share check serves a list of totals and the dashboards' stored counts alike."""

import copy
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from scoring import policy, services
from scoring.models import OutcomeRule, Scheme
from scoring.points import to_centi
from scoring.presets import PRESETS
from scoring.rule_kinds import RULE_KINDS, param_errors

from .helpers import YEAR

BAD = {"at_or_above": "high", "share": "five percent"}


def test_the_registry_declares_every_kind_the_model_offers():
    assert set(RULE_KINDS) == set(OutcomeRule.Kind.values)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_rule_is_valid(preset):
    assert {r["code"]: param_errors(r["kind"], r["params"]) for r in PRESETS[preset]["rules"]} == {
        r["code"]: {} for r in PRESETS[preset]["rules"]
    }


@pytest.mark.parametrize(
    ("kind", "params", "wrong", "words"),
    [
        ("share_cap", BAD, {"at_or_above", "share"}, ["分数线", "high", "人数比例上限", "five percent"]),
        ("share_cap", {"at_or_above": 95}, {"share"}, ["缺少参数：人数比例上限"]),
        ("share_cap", {"at_or_above": 95, "share": "1.5"}, {"share"}, ["不超过 1"]),
        ("share_cap", {"at_or_above": 95, "share": 0}, {"share"}, ["大于 0"]),
        ("share_cap", {"at_or_above": 95, "share": True}, {"share"}, ["人数比例上限"]),
        ("share_cap", {"at_or_above": 95, "share": "0.05", "cap": 3}, {None}, ["没有参数：cap"]),
        ("share_cap", {"at_or_above": 95.001, "share": "0.05"}, {"at_or_above"}, ["两位小数"]),
        ("share_cap", {"at_or_above": -1, "share": "0.05"}, {"at_or_above"}, ["0 至 9999.99"]),
        ("rank_last", {}, {"below"}, ["缺少参数：低于（分）"]),
        ("rank_last", {"below": None}, {"below"}, ["低于（分）"]),
        ("streak", {"of": "A-RED", "years": 1}, {"years"}, ["连续年数", "2 至 10"]),
        ("streak", {"of": "", "years": 2}, {"of"}, ["规则的编号"]),
        ("commendation", {"at_or_above": 95, "every_years": "2"}, {"every_years"}, ["每几年表彰一次"]),
        ("band", {}, {None}, ["分数段下限或上限"]),
        ("band", {"lower": 70, "upper": 60}, {"upper"}, ["须高于分数段下限"]),
        ("band", {"upper": 75, "item_codes": "B-BASE-ID"}, {"item_codes"}, ["项目编号的列表"]),
        ("band", {"upper": 60, "upper_inclusive": "yes"}, {"upper_inclusive"}, ["含上限"]),
        ("nonsense", {}, {None}, ["未知的规则类型"]),
    ],
)
def test_a_wrong_parameter_is_named_in_the_error(kind, params, wrong, words):
    errors = param_errors(kind, params)
    assert set(errors) == wrong
    text = " ".join(m for messages in errors.values() for m in messages)
    for word in words:
        assert word in text


def test_a_single_point_band_is_valid_only_with_both_ends_included():
    assert param_errors("band", {"lower": 60, "upper": 60, "upper_inclusive": True}) == {}
    assert "upper" in param_errors("band", {"lower": 60, "upper": 60})


def _rule(scheme, **fields):
    return OutcomeRule(
        scheme=scheme,
        **{
            "code": "X-SHARE",
            "kind": "share_cap",
            "consequence": "share_cap",
            "label": "高分比例",
            "params": BAD,
            **fields,
        },
    )


def _legacy(rule, params):
    """Store `params` as a row written before parameters were checked would hold them."""
    models.QuerySet.update(OutcomeRule.objects.filter(pk=rule.pk), params=params)


def test_the_model_refuses_bad_parameters_on_save_and_full_clean(scoring_world):
    scheme = scoring_world.a_staff
    with pytest.raises(ValidationError) as refused:
        _rule(scheme).save()
    assert "「分数线：不低于（分）」须为分数" in str(refused.value.message_dict["params"])
    with pytest.raises(ValidationError) as refused:
        _rule(scheme).full_clean()
    assert set(refused.value.message_dict) == {"params"}
    assert not scheme.outcome_rules.filter(code="X-SHARE").exists()
    _rule(scheme, params={"at_or_above": 95, "share": "0.05"}).save()
    assert scheme.outcome_rules.filter(code="X-SHARE").exists()


def test_bulk_writes_check_every_rule(scoring_world):
    scheme = scoring_world.a_staff
    good = _rule(scheme, code="X-GOOD", params={"at_or_above": 95, "share": "0.05"})
    with pytest.raises(ValidationError):
        OutcomeRule.objects.bulk_create([good, _rule(scheme)])
    with pytest.raises(ValidationError):
        scheme.outcome_rules.bulk_create([_rule(scheme)])
    assert not scheme.outcome_rules.filter(code__startswith="X-").exists()
    rule = scheme.outcome_rules.get(code="A-SHARE-95")
    rule.params = {"at_or_above": 95, "share": "1.5"}
    with pytest.raises(ValidationError):
        OutcomeRule.objects.bulk_update([rule], ["params"])
    with pytest.raises(ValueError):
        OutcomeRule.objects.filter(pk=rule.pk).update(params=BAD)
    rule.refresh_from_db()
    assert rule.params == {"at_or_above": 95, "share": "0.05"}


def _draft(world):
    return services.scheme_derive(actor=world.secretary, source=world.a_staff, owner=world.A1)


def test_the_service_refuses_bad_parameters(scoring_world):
    draft = _draft(scoring_world)
    data = {
        "code": "X-SHARE",
        "kind": "share_cap",
        "consequence": "share_cap",
        "label": "高分比例",
        "applies_to": "all",
        "order": 0,
    }
    for params in (
        BAD,
        {"at_or_above": 95},
        {"at_or_above": 95, "share": "1.5"},
        {"at_or_above": 95, "share": "0.05", "extra": 1},
    ):
        with pytest.raises(ValidationError):
            services.outcome_rule_save(actor=scoring_world.secretary, scheme=draft, data={**data, "params": params})
    rule = draft.outcome_rules.get(code="A-SHARE-95")
    with pytest.raises(ValidationError):
        services.outcome_rule_save(
            actor=scoring_world.secretary, scheme=draft, rule=rule, data={"params": {"at_or_above": 95, "share": 5}}
        )
    rule.refresh_from_db()
    assert rule.params == {"at_or_above": 95, "share": "0.05"}
    assert not draft.outcome_rules.filter(code="X-SHARE").exists()


def test_a_scheme_copy_refuses_a_bad_rule_and_copies_nothing(scoring_world):
    _legacy(scoring_world.a_staff.outcome_rules.get(code="A-SHARE-95"), BAD)
    drafts = Scheme.objects.filter(owner=scoring_world.A1).count()
    with pytest.raises(ValidationError):
        _draft(scoring_world)
    assert Scheme.objects.filter(owner=scoring_world.A1).count() == drafts


def test_a_preset_with_a_bad_rule_is_not_loaded(scoring_world, monkeypatch):
    broken = copy.deepcopy(PRESETS["B"])
    broken["rules"][0]["params"] = {"lower": "high"}
    monkeypatch.setitem(PRESETS, "B", broken)
    with pytest.raises(ValidationError):
        services.scheme_preset_load(actor=scoring_world.org_department, preset="B", year=YEAR, owner=scoring_world.B)
    assert not Scheme.objects.filter(owner=scoring_world.B).exists()


# ── the scheme editor ────────────────────────────────────────────────────────────────────────


def _post_rule(client, draft, **fields):
    return client.post(
        reverse("rule_new", args=[draft.pk]),
        {
            "code": "X-SHARE",
            "kind": "share_cap",
            "consequence": "share_cap",
            "label": "高分比例",
            "applies_to": "all",
            "order": 0,
            **fields,
        },
    )


def _error_beside(page, field):
    """The error shown in the box of `field` (includes_form.html: one .mb-3 box per field)."""
    box = re.search(
        rf'<div class="mb-3">(?:(?!<div class="mb-3">).)*?name="{field}"(?:(?!<div class="mb-3">).)*', page, re.S
    )
    assert box, f"no box for {field}"
    return re.findall(r'<div class="invalid-feedback d-block">([^<]*)</div>', box.group(0))


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"at_or_above": "high", "share": "five percent"}, "at_or_above", "请填写数字"),
        ({"at_or_above": "95", "share": "five percent"}, "share", "请填写数字"),
        ({"at_or_above": "95", "share": "150"}, "share", "100"),
        ({"at_or_above": "95", "share": "0"}, "share", "0.01"),
        ({"at_or_above": "95"}, "share", "缺少参数：人数比例上限"),
        ({"share": "5"}, "at_or_above", "缺少参数：分数线"),
        ({"at_or_above": "95.005", "share": "5"}, "at_or_above", "2"),
    ],
)
def test_the_editor_shows_a_bad_parameter_beside_its_field(scoring_world, login, fields, field, words):
    draft = _draft(scoring_world)
    page = _post_rule(login(scoring_world.secretary), draft, **fields)
    assert page.status_code == 400
    errors = _error_beside(page.content.decode(), field)
    assert errors and words in " ".join(errors)
    assert not draft.outcome_rules.filter(code="X-SHARE").exists()


def test_the_editor_shows_each_parameter_as_a_number_field_and_stores_it(scoring_world, login):
    draft = _draft(scoring_world)
    client = login(scoring_world.secretary)
    page = client.get(reverse("rule_new", args=[draft.pk])).content.decode()
    assert "<textarea" not in page.split('name="label"')[1].split("</form>")[0]
    for name in ("at_or_above", "share", "below", "lower", "upper", "years", "every_years", "anchor_year"):
        assert re.search(rf'<input type="number" name="{name}"', page), name
    assert 'data-summary="达到分数线的人数超过本支部的比例上限时' in page
    assert _post_rule(client, draft, at_or_above="95.5", share="2.5").status_code == 302
    assert draft.outcome_rules.get(code="X-SHARE").params == {"at_or_above": 95.5, "share": "0.025"}


# ── one share check ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("scored", "high"), [(19, 0), (19, 1), (20, 1), (20, 2), (41, 2), (41, 3)])
def test_the_share_check_reads_a_list_and_stored_counts_alike(scored, high):
    rule = policy.Rule(
        code="S", kind="share_cap", consequence="share_cap", label="s", params={"at_or_above": 95, "share": "0.05"}
    )
    totals = [to_centi(95)] * high + [to_centi("94.99")] * (scored - high)
    from_list = policy.share_cap_check(rule, totals)
    counted = policy.share_cap_check(rule, policy.CountedTotals(scored=scored, at_or_above={9500: high}))
    assert from_list == counted
    assert (from_list.limit, from_list.count) == (scored * 5 // 100, high)
