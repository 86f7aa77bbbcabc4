"""The Content-Security-Policy in a real browser: the main pages of several roles load without a
single violation in chromium's console, and what the policy could break still works (the charts are
drawn at the height their data- attribute asks, htmx swaps the member table, the print button is
bound). Last, a script injected into the page is refused and reported, so a silent console means
what it says."""

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import DESKTOP, wait_for_text
from tests.builders import PASSWORD, build_university
from tests.test_authorization_matrix import add_scoring

pytestmark = pytest.mark.browser

CHARTS = """
return Array.from(document.querySelectorAll('[data-chart]')).map(function (el) {
  var canvas = el.querySelector('canvas');
  return {name: el.getAttribute('data-chart'), asked: el.getAttribute('data-height'),
          height: el.getBoundingClientRect().height, canvas: canvas ? canvas.height : 0};
});
"""


def violations(browser):
    """Console messages about the policy since the last call (chromium: "Refused to … because it
    violates the following Content Security Policy directive")."""
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]


def log_in(browser, live_server, user):
    browser.delete_all_cookies()
    browser.get(live_server.url + reverse("login"))
    browser.find_element(By.ID, "id_username").send_keys(user.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_text(browser, "h1", "您好")


def assert_charts_drawn(browser):
    charts = browser.execute_script(CHARTS)
    assert charts, "no chart on the page"
    for chart in charts:
        assert chart["canvas"] > 0, chart
        assert chart["height"] > 100, chart  # the data-height was applied (an empty div is 0 high)


def test_the_main_pages_of_each_role_satisfy_the_policy(live_server, append_only_flush, browser):
    world = build_university(size=4)
    add_scoring(world)
    browser.set_window_size(*DESKTOP)
    browser.get(live_server.url + reverse("login"))
    violations(browser)  # forget what earlier tests of the session logged
    pages = {
        world.org_department: [
            reverse("home"),
            reverse("dashboard_org", args=[world.U.pk]),
            reverse("supervision", args=[world.U.pk]),
            reverse("access_log"),
            reverse("audit_list"),
            reverse("export_center"),
        ],
        world.secretary: [
            reverse("home"),
            reverse("dashboard_branch", args=[world.A1.pk]),
            reverse("ledger", args=[world.A1.pk]),
            reverse("board", args=[world.A1.pk]),
            reverse("member_list", args=[world.A1.pk]),
        ],
        world.member: [
            reverse("home"),
            reverse("dashboard_me"),
            reverse("points_card", args=[world.a1_members[-1].pk]),
        ],
    }
    charted = {
        reverse("dashboard_org", args=[world.U.pk]),
        reverse("dashboard_branch", args=[world.A1.pk]),
        reverse("dashboard_me"),
    }
    found = {}
    for user, urls in pages.items():
        log_in(browser, live_server, user)
        for url in urls:
            browser.get(live_server.url + url)
            WebDriverWait(browser, 10).until(lambda b: b.execute_script("return document.readyState") == "complete")
            if url in charted:
                assert_charts_drawn(browser)
            found.update({f"{user.username} {url}": v for v in violations(browser)})
    assert found == {}

    # htmx (its indicator styles off, no eval) still swaps the member table as one types.
    log_in(browser, live_server, world.secretary)
    browser.get(live_server.url + reverse("member_list", args=[world.A1.pk]))
    browser.find_element(By.NAME, "q").send_keys(world.a1_members[2].number)
    WebDriverWait(browser, 10).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, "table.member-table tbody tr")) == 1
    )
    assert "q=" in browser.current_url  # hx-push-url
    assert violations(browser) == []

    # The print button is bound by static/js/page.js, not by an onclick attribute.
    browser.get(live_server.url + reverse("board", args=[world.A1.pk]))
    browser.execute_script("window.print = function () { window.printed = true; };")
    browser.find_element(By.CSS_SELECTOR, "[data-print]").click()
    assert browser.execute_script("return window.printed") is True

    # The policy is enforced and reported: an injected inline script does not run and is logged.
    browser.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.ran = 1;';document.body.appendChild(s);"
    )
    assert browser.execute_script("return window.ran") is None
    assert any("script-src" in message for message in violations(browser))
