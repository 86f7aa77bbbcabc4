"""Each role's main journey through a whole year, in a real browser, under Policy A and Policy B.

The year of tests/reviews/test_policy_a_year.py and test_policy_b_year.py, shortened to one or two
members per step and driven through the pages each person actually uses: the committee
(organization department), the college (general-branch) secretary, the branch secretary and
committee, the recorder, the panelists, the mass representatives, and a member on a 375px phone.
Dull prerequisites (the reference scheme, the other representatives' forms, the scheduled task that
closes a publicity window) go through the services. Every page is checked by Journey.check_page:
nothing is loaded from outside this machine and the console shows no error or CSP violation.
Screenshots of every step go to test-artifacts/journeys/.
"""

import datetime
import zoneinfo

import openpyxl
import pytest
import time_machine
from selenium.webdriver.common.by import By

from reviews import services as reviews
from reviews.models import Declaration, Objection, ObjectionAttachment
from scoring.models import EntryEvidence, Period
from tests.browser.journey_steps import DESKTOP, PHONE, YEAR, Journey, year_world

pytestmark = pytest.mark.browser
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock():
    """The server's clock (live_server runs in this process) moves through YEAR; it keeps ticking so
    that the browser's waits time out normally. `clock(month, day)` moves it."""
    traveller = time_machine.travel(datetime.datetime(YEAR, 1, 2, 9, tzinfo=SHANGHAI), tick=True)
    coordinates = traveller.start()

    def move(month, day, year=YEAR):
        coordinates.move_to(datetime.datetime(year, month, day, 9, tzinfo=SHANGHAI))

    yield move
    traveller.stop()


@pytest.fixture
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


@pytest.fixture
def year_db(append_only_flush):
    """The rows that point at ledger lines go first: append_only_flush then empties the ledger."""
    yield
    ObjectionAttachment.objects.all().delete()
    Objection.objects.all().delete()
    Declaration.objects.all().delete()
    EntryEvidence.objects.all().delete()


@pytest.fixture
def journey(browser, live_server):
    """A Journey per test; its screenshots are named after `prefix`."""
    started = []

    def start(prefix):
        started.append(Journey(browser, live_server, prefix))
        return started[-1]

    yield start
    for j in started:
        j.close()


def item(w, code):
    return w.scheme.items.get(code=code)


def test_policy_a_year_for_every_role(journey, year_db, clock, uploads, browser):
    clock(1, 2)
    w = year_world("A-staff")
    w.s1 = Period.objects.get(cycle__year=YEAR, kind="semester", index=1)
    M = w.m
    j = journey("policy-a")

    # ── the college approves the branch's detailed rules (through the real login form) ─────
    clock(1, 5)
    j.as_user(w.gb_secretary, through_form=True)
    j.link("评分标准与细则")
    row = j.row("main table tbody tr", w.scheme.name)
    assert j.cells(row)[-1] == "待审批"
    j.link(w.scheme.name, within=row)
    j.click(".scheme-actions button.btn-success")
    j.see(".alert-success", "已批准")
    j.see("main p.text-muted strong", "已批准")
    j.shot("college-approves-rules")

    # ── a member hands in the pledge on the phone ─────────────────────────────────────────
    clock(1, 6)
    j.as_user(M[4].user, PHONE)
    j.link("提交年度承诺")
    j.choose("kind", "vanguard")
    j.type("content", "立足岗位作表率，全年志愿服务不少于8次")
    j.click("button[name=action][value=save]")
    j.see(".list-group-item", "草稿")
    j.click("button[name=action][value=submit]")
    j.see(".alert-success", "承诺已提交，待支部审核")
    j.see(".list-group-item", "待审核")
    j.fits()
    j.shot("member-pledge-phone")

    # ── the branch secretary approves it and records an entry ─────────────────────────────
    clock(1, 8)
    j.as_user(w.secretary)
    j.link("甲一支部 · 评议工作")
    card = j.card("待审核承诺")
    assert "立足岗位作表率" in card.text
    j.approve_all("待审核承诺", "已审核 1 项承诺")
    assert "立足岗位作表率" not in j.card("待审核承诺").text
    j.shot("secretary-pledge-approved")
    j.menu("首页")
    j.link("记分")
    j.choose("member", M[3].pk)
    j.choose("item", item(w, "A-C04").pk)
    j.choose("period", w.s1.pk)
    j.type("points", "4")
    j.type("reason", "结对帮扶两名学生")
    j.click("main form button[type=submit]")
    j.see(".alert-success", f"已为{M[3].name}记分")
    j.shot("secretary-records-entry")

    # ── 亮绩: the first semester's self-assessment on the phone (due 30 June) ───────────────
    clock(6, 20)
    j.as_user(M[4].user, PHONE)
    j.link("第一学期自查自评")
    j.see("h1", "第一学期 自查自评")
    j.type(f"points_{item(w, 'A-C02').pk}", "4")
    j.type(f"note_{item(w, 'A-C02').pk}", "社区志愿服务4次")
    j.type(f"points_{item(w, 'A-B01').pk}", "1")
    j.click("button[name=action][value=submit]")
    j.see(".self-submitted", "63")  # 60 − 1 + 4
    j.fits()
    j.shot("member-self-assessment-phone")

    # ── 考绩: two panelists score, the secretary confirms (July) ───────────────────────────
    clock(7, 10)
    reviews.panel_score_save(
        actor=w.panel,
        member=M[4],
        period=w.s1,
        scores={item(w, "A-B01"): "1", item(w, "A-C02"): "4", item(w, "A-C04"): "4"},
    )
    j.as_user(w.panel2)
    j.link("甲一支部 · 评议工作")
    j.link("考绩：2030年第一学期")
    j.click("a.btn", within=j.row("table.panel-table tbody tr", M[4].name))
    j.see("main p.text-muted", "自评得分 63")
    for code, value in (("A-B01", "1"), ("A-C02", "3"), ("A-C04", "3")):
        j.type(f"points_{item(w, code).pk}", value)
    j.click("button[name=action][value=save]")
    j.see(".alert-success", "评分已保存")
    j.see("main p.text-muted", "已评分人数：2")
    j.link("返回评分名单")
    assert j.cells(j.row("table.panel-table tbody tr", M[4].name))[2] == "2"  # panelists who scored
    j.shot("panelist-scores")
    j.as_user(w.secretary)
    j.link("甲一支部 · 评议工作")
    j.link("考绩：2030年第一学期")
    j.click("a.btn", within=j.row("table.panel-table tbody tr", M[4].name))
    j.see("main p.text-muted", "已评分人数：2")
    assert j.row("table.panel-items tbody tr", "A-C02").text.split()[-1] == "3.5"  # the mean of 4 and 3
    j.click("button[name=action][value=confirm]")
    j.see(".alert-success", "已确认本期得分并记入台账")
    assert j.cells(j.row("table.panel-table tbody tr", M[4].name))[3] == "✔"
    j.shot("secretary-confirms-panel")

    # ── an objection to the deduction: raised on the phone, upheld by the branch ───────────
    clock(7, 12)
    j.as_user(M[4].user, PHONE)
    j.link("我的积分卡")
    j.see(".points-summary", "66")  # 60 − 1 + 3.5 + 3.5
    j.link("提出异议", within=j.row("table.card-lines tbody tr", "-1"))
    j.type("reason", "当天因公出差，已向支部请假")
    j.click("main form button[type=submit]")
    j.see(".objection-status", "待支部调查核实")
    j.fits()
    j.shot("member-objects-phone")
    objection = Objection.objects.get(member=M[4])
    clock(7, 14)
    j.as_user(w.secretary)
    j.link("甲一支部 · 评议工作")
    j.link(M[4].name, within=j.card("未办结的异议"))
    j.choose("uphold", "1")
    j.type("text", "经核实，当天已按规定请假，撤销扣分")
    j.click("main form button[type=submit]")
    j.see(".objection-status", "支部：异议成立")
    j.shot("secretary-upholds-objection")
    clock(7, 15)
    j.as_user(M[4].user, PHONE)
    j.click(".phone-notifications")  # the unread count beside the folded menu
    j.link("支部答复")
    assert browser.current_url.endswith(f"/reviews/objections/{objection.pk}/")
    j.menu("我的积分")
    j.see(".points-summary", "67")
    j.see("table.card-lines", "已冲销")

    # ── 评绩: the mass representatives evaluate (by 10 December) ───────────────────────────
    clock(12, 5)
    for rep in w.reps[1:]:
        reviews.mass_evaluation_submit(
            actor=rep,
            branch=w.A1,
            year=YEAR,
            panel_rating=4,
            branch_rating=4,
            comments="",
            ratings={m.pk: (3, "") for m in M},
        )
    j.as_user(w.mass_rep, PHONE)
    j.link(f"{YEAR}年度群众评议")
    for m in M:
        j.choose(f"rating_{m.pk}", "4" if m == M[3] else "3")
    j.choose("panel_rating", "4")
    j.choose("branch_rating", "3")
    j.type("comments", "希望多开座谈会")
    j.fits()
    j.shot("mass-form-phone")
    j.click("main form button[type=submit]")
    j.see(".alert-success", "感谢您的评议，已提交")
    j.fits()
    j.shot("mass-representative-phone")
    clock(12, 11)  # the results are compiled once the evaluation has closed (10 December)
    j.as_user(w.secretary)
    j.link("甲一支部 · 评议工作")
    j.link("群众评议汇总")
    j.see("main", "共 5 位群众代表评议")
    j.see("main", "希望多开座谈会")
    j.shot("secretary-mass-results")

    # ── 定绩: the branch meeting, then the annual results publicized ──────────────────────
    clock(12, 20)
    j.as_user(w.secretary)  # moving the clock ends the session (idle timeout)
    j.link("甲一支部 · 评议工作")
    j.link("年度评定（定绩）")
    j.click("main form button")  # 筹备党员大会
    j.type("meeting_date", f"{YEAR}-12-20")
    j.type("members_expected", "5")
    j.type("members_present", "5")
    j.type("decision", "经党员大会综合评定，确定全体党员年度积分")
    j.choose(f"grade-{M[4].pk}", "basic")  # 民主评议等次; below 90 no 优秀 is offered
    assert 'value="excellent"' not in j.element(f"select[name='grade-{M[4].pk}']").get_attribute("innerHTML")
    j.click("main form button")
    j.see(".determination-decided", f"党员大会于 {YEAR}-12-20 评定")
    line = j.row("table.determination-lines tbody tr", M[4].name)
    assert "63.5" in line.text and "基本合格" in line.text and "黄色预警" in line.text, line.text  # (67 + 60) / 2
    j.shot("secretary-determination")
    j.visit(f"/reviews/branch/{w.A1.pk}/")
    j.choose("kind", "annual")
    j.type("starts_on", f"{YEAR}-12-20")
    j.type("days", "5")
    j.click("button", within=j.card("公示"))
    j.see(".alert-success", "已发布公示")

    # ── the member sees the results on the phone ───────────────────────────────────────────
    clock(12, 22)
    j.as_user(M[4].user, PHONE)
    j.link("我的评议")
    j.see("main", "党员大会评定：63.5")
    j.link("年度积分结果公示")
    j.see(".publicity-table", "63.5")
    j.fits()
    j.shot("member-annual-publicity-phone")
    j.menu("我的积分")
    j.see(".points-summary", "63.5")
    j.see(".list-group", "黄色预警")
    j.fits()
    j.shot("member-points-card-phone")

    # ── the committee: the dashboard and the branch's ledger downloaded ─────────────────────
    clock(12, 28)
    j.as_user(w.org_department)
    j.link("测试大学党委 · 数据看板")
    j.see("h1", "数据看板")
    funnel = j.text(".funnel-figures")
    assert "已提交承诺：1" in funnel and "已年度评定：5" in funnel and "评定结果已公示：5" in funnel, funnel
    j.shot("committee-dashboard")
    j.link("导出台账")
    row = j.row("table.export-scopes tbody tr", "甲一支部")
    j.choose("kind", "flat_ledger", within=row)
    workbook = openpyxl.load_workbook(j.download(uploads, "button", within=row))
    cells = {str(c) for sheet in workbook for r in sheet.iter_rows(values_only=True) for c in r if c is not None}
    assert {M[4].name, M[3].name, "结对帮扶两名学生"} <= cells
    j.shot("committee-export")


def test_policy_b_year_for_every_role(journey, year_db, clock, uploads, browser):
    clock(1, 2)
    w = year_world("B")
    q = {i: Period.objects.get(cycle__year=YEAR, kind="quarter", index=i) for i in (1, 2)}
    january = Period.objects.get(cycle__year=YEAR, kind="month", index=1)
    M = w.m
    j = journey("policy-b")

    # ── the college approves the branch's rules ───────────────────────────────────────────
    clock(1, 5)
    j.as_user(w.gb_secretary)
    j.link("评分标准与细则")
    j.link(w.scheme.name)
    j.click(".scheme-actions button.btn-success")
    j.see("main p.text-muted strong", "已批准")
    j.shot("college-approves-rules")

    # ── 公开承诺 on the phone (logging in through the form): at least one concrete deed ─────
    clock(1, 6)
    j.as_user(M[4].user, PHONE, through_form=True)
    j.link("提交年度承诺")
    for kind, content in (("common", "带头学习，按时参加组织生活"), ("post", "坚守岗位，服务师生")):
        j.choose("kind", kind)
        j.type("content", content)
        j.click("button[name=action][value=save]")
    j.click("button[name=action][value=submit]")
    j.see(".alert-danger", "每名党员至少要作出 1 件实事承诺")
    j.choose("kind", "deed")
    j.type("content", "为社区老人开设智能手机课堂")
    j.click("button[name=action][value=save]")
    j.click("button[name=action][value=submit]")
    j.see(".alert-success", "承诺已提交")
    assert [e.text.split("（")[1][:3] for e in browser.find_elements(By.CSS_SELECTOR, ".list-group-item")] == [
        "待审核"
    ] * 3
    j.fits()
    j.shot("member-pledges-phone")

    # ── the branch committee reviews the pledges ──────────────────────────────────────────
    clock(1, 7)
    j.as_user(w.committee)
    j.link("甲一支部 · 评议工作")
    j.approve_all("待审核承诺", "已审核 3 项承诺")
    assert j.card("待审核承诺").find_element(By.CLASS_NAME, "badge").text == "0"
    j.shot("committee-pledges-approved")

    # ── 践诺: January's report on the phone, verified and publicized monthly ────────────────
    clock(1, 28)
    j.as_user(M[4].user, PHONE)
    j.link("2030年1月践诺情况报告")
    j.choose("period", january.pk)
    j.type("content", "开课两次，40人参加，签到表已交支部")
    j.click("main form button[type=submit]")
    j.see(".alert-success", "已提交践诺情况")
    j.fits()
    j.shot("member-fulfilment-phone")
    clock(2, 4)
    j.as_user(w.committee)
    j.link("甲一支部 · 评议工作")
    j.approve_all("待核实的践诺报告", "已核实 1 份践诺报告")
    assert j.card("待核实的践诺报告").find_element(By.CLASS_NAME, "badge").text == "0"
    j.as_user(w.secretary)
    j.link("甲一支部 · 评议工作")
    publish = j.card("公示").find_element(By.TAG_NAME, "form")
    j.choose("kind", "fulfilment", within=publish)
    j.choose("period", january.pk, within=publish)
    j.type("days", "5", within=publish)
    j.click("button", within=publish)
    j.see(".alert-success", "已发布公示")
    j.link("承诺践诺情况月度公示")
    j.see(".publicity-table", "签到表已交支部")
    j.shot("secretary-monthly-publicity")

    # ── 本人申报: declared on the phone → verified → publicized → confirmed ─────────────────
    clock(2, 10)
    reviews.declaration_submit(
        actor=M[3].user, member=M[3], item=item(w, "B-ADD-02"), period=q[1], points="4", reason="组织主题党日"
    )
    j.as_user(M[4].user, PHONE)
    j.link("我的评议")
    j.link("本人申报加分")
    j.choose("item", item(w, "B-ADD-01").pk)
    j.choose("period", q[1].pk)
    j.type("points", "3")
    j.type("reason", "在学院宣讲二十大精神")
    j.click("main form button[type=submit]")
    j.see(".alert-success", "已提交申报，待支部审核")
    j.fits()
    j.shot("member-declares-phone")
    clock(2, 12)
    j.as_user(w.committee)
    j.link("甲一支部 · 评议工作")
    j.approve_all("待审核的本人申报", "已审核 2 项申报")
    assert "已审核，待公示" in j.card("待审核的本人申报").text
    j.as_user(w.secretary)
    j.link("甲一支部 · 评议工作")
    publish = j.card("公示").find_element(By.TAG_NAME, "form")
    j.choose("kind", "declarations", within=publish)
    j.type("days", "5", within=publish)
    j.click("button", within=publish)
    j.see(".alert-success", "已发布公示")

    # ── a mass representative objects to a declaration in the window (phone) ───────────────
    clock(2, 13)
    j.as_user(w.mass_rep, PHONE)
    j.click(".phone-notifications")
    j.link("本人申报加分公示")
    j.see(".publicity-table", "组织主题党日")
    j.link("异议", within=j.row(".publicity-table tbody tr", M[3].name))
    j.type("reason", "该主题党日由支部组织，非本人组织")
    j.click("main form button[type=submit]")
    j.see(".objection-status", "待支部调查核实")
    j.fits()
    j.shot("mass-representative-objects-phone")
    clock(2, 14)
    j.as_user(w.secretary)
    j.link("甲一支部 · 评议工作")
    j.link(M[3].name, within=j.card("未办结的异议"))
    j.choose("uphold", "1")
    j.type("text", "经核实，主题党日由支部统一组织")
    j.click("main form button[type=submit]")
    j.see(".objection-status", "支部：异议成立")
    # The window ends on 17 February; the scheduled task closes it the next morning.
    reviews.publicity_close_due(now=datetime.datetime(YEAR, 2, 18, 7, tzinfo=SHANGHAI))
    clock(2, 18)
    j.as_user(M[4].user, PHONE)
    j.link("我的评议")
    j.see("main .card", f"{item(w, 'B-ADD-01').title} +3（已确认记分）")
    j.shot("member-declaration-confirmed-phone")

    # ── the recorder keeps the ledger; the first quarter's scores are made public ──────────
    clock(3, 10)
    j.as_user(w.recorder)
    j.link("记分")
    for member, code, points, reason in (
        (M[1], "B-BASE-ID", "1", "工作期间未佩戴党徽"),
        (M[3], "B-ADD-01", "5", "主讲专题党课"),
    ):
        j.choose("member", member.pk)
        j.choose("item", item(w, code).pk)
        j.choose("period", q[1].pk)
        j.type("points", points)
        j.type("reason", reason)
        j.click("main form button[type=submit]")
        j.see(".alert-success", f"已为{member.name}记分")
    j.shot("recorder-records")
    clock(4, 2)
    j.as_user(w.secretary)
    j.link("甲一支部 · 评议工作")
    publish = j.card("公示").find_element(By.TAG_NAME, "form")
    j.choose("kind", "scores", within=publish)
    j.choose("period", q[1].pk, within=publish)
    j.click("button", within=publish)
    j.see(".alert-success", "已发布公示")
    j.link("记分情况公开")
    assert [j.cells(j.row(".publicity-table tbody tr", M[i].name))[2] for i in (3, 4, 1)] == ["85", "83", "79"]
    j.shot("secretary-quarterly-publicity")

    # ── a disputed penalty: the branch rejects, the organization department corrects it ────
    clock(5, 12)
    j.as_user(w.recorder)
    j.link("记分")
    j.choose("member", M[4].pk)
    j.choose("item", item(w, "B-SUB-01").pk)
    j.choose("period", q[2].pk)
    j.type("points", "2")
    j.type("reason", "报表出现差错")
    j.click("main form button[type=submit]")
    clock(5, 13)
    j.as_user(M[4].user, PHONE)
    j.link("我的积分卡")
    j.link("提出异议", within=j.row("table.card-lines tbody tr", "报表出现差错"))
    j.type("reason", "差错系系统故障，非本人失误")
    j.click("main form button[type=submit]")
    j.see(".objection-status", "待支部调查核实")
    clock(5, 15)
    j.as_user(w.secretary)
    j.link("甲一支部 · 评议工作")
    j.link(M[4].name, within=j.card("未办结的异议"))
    j.choose("uphold", "0")
    j.type("text", "经核实，报表由本人填报")
    j.click("main form button[type=submit]")
    j.see(".objection-status", "支部：异议不成立")
    clock(5, 16)
    j.as_user(M[4].user, PHONE)
    j.click(".phone-notifications")  # the unread count beside the folded menu
    j.link("支部答复")
    j.type("reason", "系统日志可证明故障")
    j.click("main form button.btn-outline-danger")
    j.see(".objection-status", "已提请组织部核实")
    j.fits()
    j.shot("member-escalates-phone")
    clock(5, 25)
    j.as_user(w.org_department)
    j.menu("通知")
    j.link("已提请组织部核实")
    j.choose("uphold", "1")
    j.type("text", "系统故障属实，但本人未及时复核，改记1分")
    j.type("corrected_points", "1")
    j.click("main form button[type=submit]")
    j.see(".objection-status", "组织部：异议成立")
    j.see("main", "组织部意见：系统故障属实")
    j.shot("committee-resolves-objection")

    # ── 述职 and the determination (December) ──────────────────────────────────────────────
    clock(12, 15)
    j.as_user(w.secretary)
    j.link("甲一支部 · 评议工作")
    row = j.row("table.branch-table tbody tr", M[4].name)
    j.element("summary", within=row).click()
    j.type("summary", "践诺情况良好，智能手机课堂开课十次", within=row)
    j.click("form[action$='annual-report/'] button", within=row)
    j.see(".alert-success", "已记录述职")
    j.link("年度评定（定绩）")
    j.click("main form button")
    j.type("meeting_date", f"{YEAR}-12-15")
    j.type("members_expected", "5")
    j.type("members_present", "4")
    j.type("decision", "党员大会评定年度记分")
    j.choose(f"grade-{M[3].pk}", "excellent")  # 85: may be rated 优秀; 82 may not
    assert 'value="excellent"' not in j.element(f"select[name='grade-{M[4].pk}']").get_attribute("innerHTML")
    j.browser.set_window_size(*PHONE)
    j.fits()
    j.shot("secretary-grades-phone")
    j.browser.set_window_size(*DESKTOP)
    j.click("main form button")
    j.see(".determination-decided", "应到 5 人，实到 4 人")
    ranks = {
        name: j.cells(j.row("table.determination-lines tbody tr", name)) for name in (M[3].name, M[4].name, M[1].name)
    }
    assert [ranks[M[i].name][:3] for i in (3, 4, 1)] == [
        ["1", M[3].name, "85"],
        ["2", M[4].name, "82"],
        ["5", M[1].name, "79"],
    ]
    assert ranks[M[3].name][3] == "优秀" and ranks[M[4].name][3] == "合格"
    assert "诫勉谈话" in ranks[M[1].name][4]  # not showing identity, although 79 ≥ 75
    j.shot("secretary-determination")
    j.visit(f"/reviews/branch/{w.A1.pk}/")
    publish = j.card("公示").find_element(By.TAG_NAME, "form")
    j.choose("kind", "annual", within=publish)
    j.click("button", within=publish)
    j.see(".alert-success", "已发布公示")

    # ── the member: results on the phone, and the own ledger downloaded ────────────────────
    clock(12, 16)
    j.as_user(M[4].user, PHONE)
    j.link("我的评议")
    j.see("main", "党员大会评定：82")
    j.see("main", "年终述职")
    j.link("我的积分卡")
    j.see(".points-summary", "82")  # 80 + 3 − 2 + 2 − 1
    j.see("main p.small", "支部排名：2")
    j.fits()
    j.shot("member-points-card-phone")
    workbook = openpyxl.load_workbook(j.download(uploads, "form[action*='/exports/members/'] button"))
    cells = {str(c) for sheet in workbook for r in sheet.iter_rows(values_only=True) for c in r if c is not None}
    assert {"在学院宣讲二十大精神", "报表出现差错"} <= cells

    # ── the committee's dashboard ──────────────────────────────────────────────────────────
    clock(12, 20)
    j.as_user(w.org_department)
    j.link("测试大学党委 · 数据看板")
    funnel = j.text(".funnel-figures")
    assert "已提交承诺：1" in funnel and "已年度评定：5" in funnel, funnel
    j.shot("committee-dashboard")
