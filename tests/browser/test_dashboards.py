"""The dashboards in a real browser at desktop (1280×900) and phone (375×812) widths: every chart is
drawn by the locally served ECharts (a canvas with a size and series data), a click on a chart
opens the members behind the number, and no request leaves the machine."""

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.browser.conftest import DESKTOP, PHONE, resources_outside, wait_for_text
from tests.builders import PASSWORD, build_university
from tests.dashboards.conftest import populate
from tests.dashboards.helpers import histogram

pytestmark = pytest.mark.browser

CHARTS_DRAWN = """
return Array.from(document.querySelectorAll('[data-chart]')).map(function (el) {
  var canvas = el.querySelector('canvas');
  var chart = window.echarts && window.echarts.getInstanceByDom(el);
  var option = chart ? chart.getOption() : null;
  var points = option ? option.series.reduce(function (n, s) { return n + (s.data || []).length; }, 0) : 0;
  return {name: el.getAttribute('data-chart'), width: canvas ? canvas.width : 0, height: canvas ? canvas.height : 0,
          points: points};
});
"""


def log_in(browser, live_server, user, size):
    browser.set_window_size(*size)
    browser.delete_all_cookies()
    browser.get(live_server.url + "/accounts/login/")
    browser.find_element(By.ID, "id_username").send_keys(user.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_text(browser, "h1", "您好")


def assert_charts_drawn(browser, expected):
    drawn = {c["name"]: c for c in browser.execute_script(CHARTS_DRAWN)}
    assert set(expected) <= set(drawn), drawn
    for name in expected:
        chart = drawn[name]
        assert chart["width"] > 0 and chart["height"] > 0, chart
        assert chart["points"] > 0, chart


def assert_fits(browser):
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1


@pytest.fixture
def university(transactional_db, append_only_flush):
    from partyscore.dashboards.models import SpotCheck, SpotCheckItem

    world = build_university(size=6)
    populate(world)
    yield world
    # Sampled lines point at ledger lines, which append_only_flush empties next.
    SpotCheckItem.objects.all().delete()
    SpotCheck.objects.all().delete()


def test_the_committee_dashboard_at_both_widths_and_a_click_through(live_server, university, browser, screenshot):
    w = university
    log_in(browser, live_server, w.org_department, DESKTOP)
    browser.get(f"{live_server.url}/dashboard/org/{w.U.pk}/")
    wait_for_text(browser, "h1", "数据看板")
    charts = ["heatmap", "funnel", "progress", "histogram", "consequences", "history", "flags", "follow_ups"]
    assert_charts_drawn(browser, charts)
    screenshot("committee-dashboard-desktop")
    assert resources_outside(browser, live_server.url) == []
    # Click the tallest histogram bar: the list of the members behind it opens.
    counts = histogram(w.plan)
    tallest = max(range(len(counts)), key=counts.__getitem__)
    element = browser.find_element(By.CSS_SELECTOR, '[data-chart="histogram"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    x, y = browser.execute_script(
        "var c = echarts.getInstanceByDom(arguments[0]);"
        "return c.convertToPixel({seriesIndex: 0}, [arguments[1], arguments[2] / 2]);",
        element,
        tallest,
        counts[tallest],
    )
    ActionChains(browser).move_to_element_with_offset(
        element, x - element.size["width"] / 2, y - element.size["height"] / 2
    ).click().perform()
    wait_for_text(browser, "h1", "年度总分在该区间的党员")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.drill-table tbody tr[data-member]")) == counts[tallest]
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "导出 Excel").get_attribute("href").count("/export/") == 1
    screenshot("committee-drill-down-desktop")
    log_in(browser, live_server, w.org_department, PHONE)
    browser.get(f"{live_server.url}/dashboard/org/{w.U.pk}/")
    wait_for_text(browser, "h1", "数据看板")
    assert_charts_drawn(browser, charts)
    screenshot("committee-dashboard-phone")
    assert resources_outside(browser, live_server.url) == []


def test_the_college_dashboard_and_board_of_a_general_branch_secretary(live_server, university, browser, screenshot):
    w = university
    w.A1.show_board_to_members = True
    w.A1.save()
    for size, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        log_in(browser, live_server, w.gb_secretary, size)
        browser.get(f"{live_server.url}/dashboard/org/{w.A.pk}/")
        wait_for_text(browser, "h1", "甲学院党委")
        assert_charts_drawn(browser, ["heatmap", "funnel", "histogram", "consequences"])
        assert "乙一支部" not in browser.page_source
        screenshot(f"college-dashboard-{label}")
        browser.get(f"{live_server.url}/dashboard/board/{w.A.pk}/")
        wait_for_text(browser, "h1", "积分榜")
        assert "该支部未向党员公开积分榜" in browser.find_element(By.CSS_SELECTOR, "main").text
        screenshot(f"college-board-{label}")
        assert_fits(browser)
        assert resources_outside(browser, live_server.url) == []


def test_the_secretarys_dashboard_at_both_widths(live_server, university, browser, screenshot):
    w = university
    for size, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        log_in(browser, live_server, w.secretary, size)
        browser.get(f"{live_server.url}/dashboard/branch/{w.A1.pk}/")
        wait_for_text(browser, "h1", "支部看板")
        assert_charts_drawn(browser, ["steps", "histogram", "consequences"])
        assert "未办结的异议" in browser.find_element(By.CSS_SELECTOR, ".todo-list").text
        screenshot(f"secretary-dashboard-{label}")
        assert resources_outside(browser, live_server.url) == []


def test_the_members_standing_on_a_phone_and_a_desktop(live_server, university, browser, screenshot):
    w = university
    member = w.a1_members[-1]
    for size, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        log_in(browser, live_server, member.user, size)
        browser.find_element(By.LINK_TEXT, "我的积分概况").click()
        wait_for_text(browser, "h1", "我的积分概况")
        assert_charts_drawn(browser, ["periods"])
        total = next(p.total for p in w.plan if p.member == member)
        assert browser.find_element(By.CSS_SELECTOR, ".my-total").text == f"{total / 100:g}"
        screenshot(f"member-dashboard-{label}")
        assert_fits(browser)
        assert resources_outside(browser, live_server.url) == []


def test_supervision_and_work_reports_at_both_widths(live_server, university, browser, screenshot):
    w = university
    for size, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        log_in(browser, live_server, w.org_department, size)
        browser.get(f"{live_server.url}/dashboard/supervision/{w.U.pk}/")
        wait_for_text(browser, "h1", "督查")
        screenshot(f"supervision-{label}")
        browser.get(f"{live_server.url}/dashboard/reports/{w.U.pk}/")
        wait_for_text(browser, "h1", "年度工作报告")
        screenshot(f"work-reports-{label}")
        assert resources_outside(browser, live_server.url) == []
    log_in(browser, live_server, w.org_department, DESKTOP)
    browser.get(f"{live_server.url}/dashboard/supervision/{w.U.pk}/")
    browser.find_element(By.CSS_SELECTOR, "#spot-check-form button[type=submit]").click()
    wait_for_text(browser, "h1", "随机抽查")
    assert browser.find_elements(By.CSS_SELECTOR, "table.spot-check-items tbody tr")
    screenshot("spot-check-desktop")
    log_in(browser, live_server, w.secretary, PHONE)
    browser.get(f"{live_server.url}/dashboard/reports/{w.A1.pk}/{w.year}/")
    wait_for_text(browser, "h1", "年度工作报告")
    assert "应参与记分党员" in browser.find_element(By.TAG_NAME, "textarea").get_attribute("value")
    screenshot("branch-work-report-phone")
    assert_fits(browser)
