import pytest
from selenium.webdriver.common.by import By

from scoring.models import Deadline
from scoring.selectors import current_period
from tests.browser.conftest import PHONE, resources_outside, wait_for_text
from tests.browser.test_scoring import log_in
from tests.builders import build_university
from tests.test_authorization_matrix import add_scoring

pytestmark = pytest.mark.browser


def click(browser, css):
    """Scroll the button into view at once (Bootstrap turns on smooth scrolling), then click it."""
    button = browser.find_element(By.CSS_SELECTOR, css)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", button)
    button.click()


def no_horizontal_overflow(browser):
    return browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_a_member_fills_the_self_assessment_on_a_phone(live_server, append_only_flush, browser, screenshot):
    world = build_university(size=6)
    _reference, schemes, _entries, _period = add_scoring(world)
    scheme = schemes["A1"]
    period = current_period(year=scheme.year, kind="semester")
    # Due whatever day the suite runs: this semester's self-assessment closes with the semester.
    Deadline.objects.filter(cycle=period.cycle, code=f"A-S{period.index}-SELF").update(due_on=period.ends_on)
    member = world.member.member

    log_in(browser, live_server, world.member, PHONE)
    due = browser.find_element(By.CSS_SELECTOR, ".due-list")
    assert f"{period.name}自查自评" in due.text and period.ends_on.isoformat() in due.text
    link = due.find_element(By.PARTIAL_LINK_TEXT, "自查自评")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", link)
    link.click()
    wait_for_text(browser, "h1", "自查自评")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".self-item")) == scheme.items.exclude(kind="veto").count()
    assert no_horizontal_overflow(browser)
    labels = {
        card.find_element(By.CSS_SELECTOR, ".fw-semibold").text.split()[0]: card.text
        for card in browser.find_elements(By.CSS_SELECTOR, ".self-item")
    }
    assert "本期扣分 0—20 分" in labels["A-B01"] and "本期加分 0—5 分" in labels["A-C02"]  # base points deduct

    # Two items: three points of volunteering (contribution), one point off for a missed meeting.
    for code, points, note in (("A-C02", "3", "社区志愿服务3次"), ("A-B01", "1", "缺席一次支部大会")):
        item = scheme.items.get(code=code)
        field = browser.find_element(By.NAME, f"points_{item.pk}")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", field)
        field.send_keys(points)
        browser.find_element(By.NAME, f"note_{item.pk}").send_keys(note)
    click(browser, "main form button[name=action][value=save]")
    wait_for_text(browser, ".alert-success", "草稿已保存")
    assert browser.find_element(By.CSS_SELECTOR, ".self-score").text == "62"  # 60 − 1 + 3
    assert browser.find_element(By.NAME, f"points_{scheme.items.get(code='A-C02').pk}").get_attribute("value") == "3"
    assert member.self_assessments.get(period=period).status == "draft"

    click(browser, "main form button[name=action][value=submit]")
    wait_for_text(browser, ".self-submitted", "62")
    assessment = member.self_assessments.get(period=period)
    assert (assessment.status, assessment.self_score) == ("submitted", 6200)
    assert sorted(assessment.claims.values_list("item__code", "points", "note")) == [
        ("A-B01", 100, "缺席一次支部大会"),
        ("A-C02", 300, "社区志愿服务3次"),
    ]
    # nothing left to send (asked at once, not after the driver's implicit wait for an absent element)
    assert not browser.execute_script("return document.querySelector('main form button[name=action]')")
    screenshot("member-self-assessment-phone")
    assert no_horizontal_overflow(browser)
    assert resources_outside(browser, live_server.url) == []
