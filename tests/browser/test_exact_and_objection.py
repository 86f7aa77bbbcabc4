"""The points card's exact total and the objection page's evidence field, in chromium at desktop and phone width."""

import pytest
from selenium.webdriver.common.by import By

from reviews import services as reviews
from scoring import services as scoring
from scoring.models import Period
from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_scoring import log_in
from tests.builders import build_university
from tests.test_authorization_matrix import add_scoring

pytestmark = pytest.mark.browser


@pytest.fixture
def objection_db(append_only_flush):
    """The objection points at a ledger line: it goes first, then append_only_flush empties the ledger."""
    yield
    from reviews.models import Objection

    Objection.objects.all().delete()


def test_the_exact_total_and_the_objection_evidence_field_at_both_widths(
    live_server, objection_db, browser, screenshot
):
    world = build_university(size=6)
    _reference, schemes, _entries, period = add_scoring(world)
    member = world.a1_members[3]  # A-C02 +2 in the first semester: 62
    second = Period.objects.get(cycle=period.cycle, kind="semester", index=2)
    disputed = scoring.entry_record(
        actor=world.admin,
        member=member,
        item=schemes["A1"].items.get(code="A-C05"),
        period=second,
        points="1.01",
        reason="宣讲",
    )  # 61.01: mean 61.505
    objection = reviews.objection_raise(actor=member.user, member=member, entry=disputed, reason="宣讲两次")
    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        log_in(browser, live_server, member.user, size)
        browser.get(f"{live_server.url}/members/{member.pk}/card/")
        wait_for_text(browser, "h1", "积分卡")
        summary = browser.find_element(By.CSS_SELECTOR, ".points-summary").text
        assert "61.5" in summary and "精确值 61.505" in summary
        assert "不四舍五入" in browser.find_element(By.CSS_SELECTOR, ".total-shown-note").text
        screenshot(f"points-card-exact-{name}")
        assert browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
        log_in(browser, live_server, world.secretary, size)
        browser.get(f"{live_server.url}/reviews/objections/{objection.pk}/")
        wait_for_text(browser, "h1", "异议")
        assert browser.find_element(By.CSS_SELECTOR, "input[type=file][name=evidence]")
        screenshot(f"objection-evidence-{name}")
        assert browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
