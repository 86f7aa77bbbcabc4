"""Each role's home in a real browser, at a phone's width and a desktop's: the to-do counts are the
database's, every to-do link opens a page where that role can act, and the dashboards read at a
glance (the funnel's bars scale with their numbers, the fairness signals are folded). Screenshots go
to test-artifacts/homes/."""

import re

import pytest
from selenium.webdriver.common.by import By

from reviews.models import MassEvaluation, Objection, PanelConfirmation, PanelScore, Pledge
from scoring.models import MemberYearTotal
from scoring.selectors import current_period
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, wait_for_text
from tests.browser.test_dashboards import assert_fits, log_in
from tests.browser.test_dashboards import university as university  # the fixture

pytestmark = pytest.mark.browser

TODO_ITEMS = """
return Array.from(document.querySelectorAll('.home-todo [data-count]')).map(function (el) {
  var link = el.querySelector('a[href]');
  var text = (link || el).textContent.trim().split('\\n')[0].trim();
  return {text: text, count: parseInt(el.getAttribute('data-count'), 10), href: link ? link.getAttribute('href') : '',
          late: el.classList.contains('overdue') || el.classList.contains('border-danger')};
});
"""
# What the page a to-do leads to must offer the role (a form to decide, a member to score …).
ACTS = {
    "/reviews/branch/": "form[action*='/decide/'], form[action*='/reviews/branch/']",
    "/reviews/panel/": "a[href*='/reviews/panel/'], form[method=post]",
    "/reviews/mass/": "form[method=post] input[name^='rating_'], form[method=post] select, form[method=post]",
    "/reviews/determination/": "form[method=post]",
    "/reviews/objections/": "form[method=post]",
    "/reviews/follow-ups/": "a[href*='/reviews/follow-ups/']",
    "/dashboard/": "a[href*='/members/'], .dashboard-chart",
    "/work-reports/": "form[method=post]",
}


def shot_name(role, size):
    (ARTIFACTS / "homes").mkdir(parents=True, exist_ok=True)
    return f"homes/{role}-{'phone' if size == PHONE else 'desktop'}"


def counts(browser):
    return {item["text"]: item for item in browser.execute_script(TODO_ITEMS)}


def follow_every_link(browser, live_server, items, role):
    for item in items.values():
        if not item["href"]:
            continue
        browser.get(live_server.url + item["href"])
        heading = browser.find_element(By.TAG_NAME, "h1").text
        assert "无权访问" not in heading, f"{role}: {item['text']} leads to a refusal"
        if not item["count"]:
            continue  # nothing to do there today: it only has to open
        acts = next((css for prefix, css in ACTS.items() if item["href"].startswith(prefix)), None)
        assert acts, f"{role}: no check for {item['href']}"
        assert browser.find_elements(By.CSS_SELECTOR, acts), f"{role}: {item['href']} offers nothing to do"


def open_home(browser, live_server, user, size, screenshot, role):
    log_in(browser, live_server, user, size)
    browser.get(live_server.url + "/")
    wait_for_text(browser, "h1", "您好")
    assert_fits(browser)
    full_page_shot(browser, screenshot, shot_name(role, size), size)
    return counts(browser)


def full_page_shot(browser, screenshot, name, size):
    """The whole page in one picture (the guides show them), then the window as it was."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(size[0], min(height + 120, 4000))
    screenshot(name)
    browser.set_window_size(*size)


@pytest.mark.parametrize("size", [PHONE, DESKTOP])
def test_the_secretary_opens_on_the_branch_work(live_server, university, browser, screenshot, size):
    world = university
    items = open_home(browser, live_server, world.secretary, size, screenshot, "secretary")
    assert (
        items["待审核的承诺"]["count"]
        == Pledge.objects.filter(member__branch=world.A1, year=world.year, status="submitted").count()
        > 0
    )
    assert "待核实的践诺报告" not in items  # Policy B's monthly 践诺 is no step of A1's (Policy A) pipeline
    assert (
        items["未办结的异议"]["count"]
        == Objection.objects.filter(branch=world.A1, status__in=Objection.PENDING).count()
    )
    # The member's own standing comes first: the secretary is a member of A1 too.
    total = MemberYearTotal.objects.get(member=world.secretary.member, year=world.year)
    assert browser.find_element(By.CSS_SELECTOR, ".my-total").text == f"{total.total / 100:g}"
    follow_every_link(browser, live_server, items, "secretary")


@pytest.mark.parametrize("size", [PHONE, DESKTOP])
def test_a_panelist_opens_on_the_members_left_to_score(live_server, university, browser, screenshot, size):
    world = university
    items = open_home(browser, live_server, world.panel, size, screenshot, "panelist")
    period = current_period(year=world.year, kind="semester")
    done = {
        *PanelConfirmation.objects.filter(period=period).values_list("member_id", flat=True),
        *PanelScore.objects.filter(panelist=world.panel, period=period).values_list("member_id", flat=True),
    }
    left = (
        world.A1.members.filter(left_on__isnull=True, exempt=False)
        .exclude(user=world.panel)
        .exclude(pk__in=done)
        .count()
    )
    panel = next(i for text, i in items.items() if text.endswith("待评分的党员"))
    assert panel["count"] == left
    follow_every_link(browser, live_server, {"panel": panel}, "panelist")


@pytest.mark.parametrize("size", [PHONE, DESKTOP])
def test_a_mass_representative_opens_on_the_evaluation_and_its_deadline(
    live_server, university, browser, screenshot, size
):
    world = university
    items = open_home(browser, live_server, world.mass_rep, size, screenshot, "mass-representative")
    assert not MassEvaluation.objects.filter(representative=world.mass_rep).exists()
    evaluation = next(i for text, i in items.items() if text.endswith("年度群众评议"))
    assert evaluation["count"] == 1
    assert "截止" in browser.find_element(By.CSS_SELECTOR, ".mass-work").text
    follow_every_link(browser, live_server, {"mass": evaluation}, "mass representative")


@pytest.mark.parametrize("size", [PHONE, DESKTOP])
def test_a_member_opens_on_today_s_standing(live_server, university, browser, screenshot, size):
    world = university
    open_home(browser, live_server, world.member, size, screenshot, "member")
    total = MemberYearTotal.objects.get(member=world.member.member, year=world.year)
    assert browser.find_element(By.CSS_SELECTOR, ".my-total").text == f"{total.total / 100:g}"
    overview = browser.find_element(By.CSS_SELECTOR, ".my-overview").text
    assert "我的积分概况" in overview and "接下来要做" in overview
    browser.find_element(By.CSS_SELECTOR, ".my-overview a.btn-party").click()
    wait_for_text(browser, ".total-explained", "总分怎么算")
    full_page_shot(browser, screenshot, shot_name("member-points-card", size), size)


@pytest.mark.parametrize("role", ["org_department", "gb_secretary"])
@pytest.mark.parametrize("size", [PHONE, DESKTOP])
def test_the_committee_and_a_college_open_on_their_figures(live_server, university, browser, screenshot, size, role):
    world = university
    items = open_home(browser, live_server, getattr(world, role), size, screenshot, role.replace("_", "-"))
    page = browser.page_source
    assert page.index("oversight-figures") < page.index("home-links")
    late = items["有逾期环节的支部"]
    shown = int(browser.find_element(By.CSS_SELECTOR, ".oversight .todo-count").text)
    assert late["count"] == shown
    follow_every_link(browser, live_server, {k: v for k, v in items.items() if v["href"]}, role)


def test_the_committee_dashboard_reads_at_a_glance(live_server, university, browser, screenshot):
    world = university
    log_in(browser, live_server, world.org_department, DESKTOP)
    browser.get(f"{live_server.url}/dashboard/org/{world.U.pk}/")
    wait_for_text(browser, "h1", "数据看板")
    funnel = browser.execute_script("""
      var chart = window.echarts.getInstanceByDom(document.querySelector('[data-chart=funnel]'));
      var option = chart.getOption();
      return {max: option.xAxis[0].max, values: option.series[0].data.map(function (d) { return d.value; }),
              type: option.series[0].type};""")
    assert funnel["type"] == "bar" and funnel["max"] == max(funnel["values"]) > 0
    legend = browser.execute_script("""
      var option = window.echarts.getInstanceByDom(document.querySelector('[data-chart=progress]')).getOption();
      return {type: option.legend[0].type, names: option.series.map(function (s) { return s.name; }),
              labels: option.series.every(function (s) { return s.label.show; })};""")
    assert legend["type"] == "plain" and len(legend["names"]) >= 5 and legend["labels"]
    groups = browser.find_elements(By.CSS_SELECTOR, "details.fairness-group")
    assert groups and not any(g.get_attribute("open") for g in groups)
    first = groups[0]
    assert not first.find_element(By.CSS_SELECTOR, "li.fairness-flag").is_displayed()
    summary = first.find_element(By.TAG_NAME, "summary")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    browser.execute_script("arguments[0].click();", summary)  # a plain click, where the sticky footer is not
    assert first.find_element(By.CSS_SELECTOR, "li.fairness-flag").is_displayed()
    assert re.search(r"·", first.find_element(By.CSS_SELECTOR, "li.fairness-flag strong").text)
    screenshot(shot_name("committee-dashboard", DESKTOP))
