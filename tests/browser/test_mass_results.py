"""The frozen mass evaluation results, the college's list of mass representatives and the slowed
login, in chromium at desktop and phone width."""

import datetime

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from members import services as member_services
from members.models import Role
from reviews import services
from scoring import services as scoring
from scoring.models import Deadline
from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_csp import violations
from tests.builders import PASSWORD, build_university, make_user

pytestmark = pytest.mark.browser


def log_in(browser, live_server, user):
    browser.delete_all_cookies()
    browser.get(live_server.url + "/accounts/login/")
    browser.find_element(By.ID, "id_username").send_keys(user.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_text(browser, "h1", "您好")


def fits(browser, what):
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what} is {overflow}px wider than the window"
    assert violations(browser) == [], f"{what} breaks the Content-Security-Policy"


def test_frozen_results_and_the_college_list_fit_desktop_and_phone(live_server, append_only_flush, browser, screenshot):
    world = build_university(size=5)
    today = timezone.localdate()
    scoring.cycle_open(actor=world.org_department, year=today.year, committee=world.U)
    reference = scoring.scheme_preset_load(actor=world.org_department, preset="A-staff", year=today.year, owner=world.U)
    derived = scoring.scheme_derive(actor=world.secretary, source=reference, owner=world.A1)
    scoring.scheme_submit(actor=world.secretary, scheme=derived)
    scoring.scheme_approve(actor=world.gb_secretary, scheme=derived)
    reps = [world.mass_rep] + [make_user(f"rep{i}", f"群众代表{i}") for i in range(2, 6)]
    for rep in reps[1:]:
        member_services.role_assign(
            actor=world.secretary, user=rep, organization=world.A1, role=Role.MASS_REPRESENTATIVE, starts_on=today
        )
    Deadline.objects.filter(code="A-MASSES").update(due_on=today)
    comments = ["希望多开座谈会", "考评认真", "", "加强理论学习，改进作风", ""]
    for n, rep in enumerate(reps):
        services.mass_evaluation_submit(
            actor=rep,
            branch=world.A1,
            year=today.year,
            panel_rating=3 + n % 2,
            branch_rating=4 - n % 2,
            comments=comments[n],
            ratings={m.pk: (1 + (n + i) % 4, "") for i, m in enumerate(world.a1_members)},
        )
    Deadline.objects.filter(code="A-MASSES").update(due_on=today - datetime.timedelta(days=1))  # closed

    log_in(browser, live_server, world.secretary)
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        browser.set_window_size(*size)
        violations(browser)
        browser.get(f"{live_server.url}/reviews/mass/{world.A1.pk}/results/")
        wait_for_text(browser, "p", "结果已定格")
        screenshot(f"mass-results-frozen-{name}")
        fits(browser, f"the results page ({name})")

    log_in(browser, live_server, world.gb_secretary)
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        browser.set_window_size(*size)
        violations(browser)
        browser.get(f"{live_server.url}/orgs/{world.A.pk}/roles/")
        wait_for_text(browser, ".mass-representatives-below", "群众代表5")
        screenshot(f"college-mass-representatives-{name}")
        fits(browser, f"the college roles page ({name})")


def test_the_slowed_login_says_how_long_to_wait(live_server, append_only_flush, browser, screenshot, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    build_university()
    browser.delete_all_cookies()
    browser.set_window_size(*PHONE)
    for attempt in range(10):  # past the limit each failure doubles the wait: soon one is refused unchecked
        browser.get(live_server.url + "/accounts/login/")
        browser.find_element(By.ID, "id_username").send_keys(f"guess{attempt}")
        browser.find_element(By.ID, "id_password").send_keys("wrong-password")
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_text(browser, "h1", "登录")
        # Asked of the page at once: find_elements would wait the driver's implicit 5 s for an absent one.
        if browser.execute_script("return document.querySelector('.login-slowed') !== null"):
            break
    wait_for_text(browser, ".login-slowed", "秒后再试")
    screenshot("login-slowed-phone")
    fits(browser, "the login page")
