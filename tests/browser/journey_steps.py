"""What the year-long browser journeys (test_journeys.py) are made of: a browser session that acts
as one person at a time, checks every page it lands on (no request leaves the machine, no console
error or CSP violation) and saves screenshots as test artefacts; and the branch's year set up
through the services up to the step the journeys drive in the browser."""

import base64

from django.conf import settings
from django.test import Client
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from members.models import Role
from scoring import services as scoring
from tests.browser.conftest import DESKTOP, PHONE, resources_outside
from tests.builders import PASSWORD, build_university, make_user
from tests.reviews.conftest import give
from tests.reviews.pages import YEAR

from .conftest import ARTIFACTS

ARTEFACTS = ARTIFACTS / "journeys"
# Elements whose right edge passes the screen's, outside the scrolling boxes of wide tables.
WIDER_THAN_SCREEN = """
var width = document.documentElement.clientWidth;
return Array.from(document.querySelectorAll('body *')).filter(function (el) {
  return el.getBoundingClientRect().right > width + 0.5 && !el.closest('.table-responsive');
}).map(function (el) { return el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right); });
"""
__all__ = ["DESKTOP", "PHONE", "YEAR", "Journey", "year_world"]


def year_world(preset):
    """A1 (M0 secretary, M1 committee, M2 panelist, M3, M4 = world.member) with the committee's
    `preset` reference and A1's detailed rules derived from it and submitted to college A, which
    approves them in the browser. A second panelist and five mass representatives."""
    world = build_university(size=5)
    world.year = YEAR
    scoring.cycle_open(actor=world.org_department, year=YEAR, committee=world.U)
    reference = scoring.scheme_preset_load(actor=world.org_department, preset=preset, year=YEAR, owner=world.U)
    world.scheme = scoring.scheme_derive(actor=world.secretary, source=reference, owner=world.A1)
    scoring.scheme_submit(actor=world.secretary, scheme=world.scheme)
    world.m = world.a1_members
    world.panel2 = give(world, make_user("panel2", "考评员乙"), Role.PANEL_MEMBER)
    world.reps = [world.mass_rep] + [
        give(world, make_user(f"rep{i}", f"群众代表{i}"), Role.MASS_REPRESENTATIVE) for i in (2, 3, 4, 5)
    ]
    return world


class Journey:
    """One browser acting as one person at a time against the live server."""

    def __init__(self, browser, live_server, prefix):
        self.browser, self.url, self.prefix = browser, live_server.url, prefix
        self.shots = []
        browser.implicitly_wait(2)
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTEFACTS.glob(f"{prefix}-*.png"):
            old.unlink()

    def close(self):
        """Leave the shared browser as the other browser tests expect it."""
        self.browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        self.browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "default"})
        self.browser.implicitly_wait(5)

    # ── who and where ────────────────────────────────────────────────────────────────────
    def as_user(self, user, size=DESKTOP, *, through_form=False):
        """Start a fresh session as `user`: through the login form, or (faster) with the session
        cookie of a server-side login, which runs the same login signals."""
        if size == PHONE:  # a phone's screen: 375px wide, the page's viewport meta, overlay scrollbars
            self.browser.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": True},
            )
        else:
            self.browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            self.browser.set_window_size(*size)
        self.browser.delete_all_cookies()
        if through_form:
            self.visit("/accounts/login/")
            self.type("username", user.username)
            self.type("password", PASSWORD)
            self.click("main form button[type=submit]")
        else:
            client = Client()
            client.force_login(user)
            if not self.browser.current_url.startswith(self.url):
                self.visit("/accounts/login/")  # a cookie can only be set on the site's own origin
            self.browser.add_cookie(
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "path": "/",
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                }
            )
            self.visit("/")
        self.see("h1", "您好")
        return self

    def visit(self, path):
        self.browser.get(self.url + path)
        self.check_page()

    def check_page(self):
        """Every page stays on this machine and runs clean under the CSP (Chrome logs a violation,
        "Refused to …" or "violates the following Content Security Policy directive", as SEVERE)."""
        assert self.browser.current_url.startswith(self.url), self.browser.current_url
        assert resources_outside(self.browser, self.url) == []
        problems = [
            entry["message"]
            for entry in self.browser.get_log("browser")
            if entry["level"] == "SEVERE"
            or "Content Security Policy" in entry["message"]
            or "Refused to" in entry["message"]
        ]
        assert problems == [], problems

    # ── acting on the page ───────────────────────────────────────────────────────────────
    def element(self, css, within=None):
        element = (within or self.browser).find_element(By.CSS_SELECTOR, css)
        self.browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
        return element

    def type(self, name, value, within=None):
        field = self.element(f"[name='{name}']", within)
        if field.get_attribute("type") == "date":  # typing into a date input depends on the locale
            self.browser.execute_script("arguments[0].value = arguments[1]", field, value)
        else:
            field.clear()
            field.send_keys(str(value))

    def choose(self, name, value, within=None):
        Select(self.element(f"select[name='{name}']", within)).select_by_value(str(value))

    def click(self, css, within=None):
        """Click and wait for the next page (the old <html> goes stale), then check it."""
        page = self.browser.find_element(By.TAG_NAME, "html")
        self.element(css, within).click()
        WebDriverWait(self.browser, 10, poll_frequency=0.05).until(
            lambda b: _stale(page), f"clicking {css} loaded no page"
        )
        self.check_page()

    def link(self, text, within=None):
        page = self.browser.find_element(By.TAG_NAME, "html")
        element = (within or self.browser).find_element(By.PARTIAL_LINK_TEXT, text)
        self.browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
        element.click()
        WebDriverWait(self.browser, 10, poll_frequency=0.05).until(
            lambda b: _stale(page), f"the link {text} loaded no page"
        )
        self.check_page()

    def menu(self, text):
        """A link of the navigation bar, which a phone folds behind the menu button."""
        toggler = self.browser.find_element(By.CSS_SELECTOR, ".navbar-toggler")
        if toggler.is_displayed():
            toggler.click()
            WebDriverWait(self.browser, 5, poll_frequency=0.05).until(
                lambda b: (
                    b.find_element(By.CSS_SELECTOR, "#nav").find_element(By.PARTIAL_LINK_TEXT, text).is_displayed()
                )
            )
        self.link(text, within=self.browser.find_element(By.CSS_SELECTOR, "#nav"))

    def row(self, css, text):
        """The first element matching `css` that shows `text` (a table row, a card)."""
        for element in self.browser.find_elements(By.CSS_SELECTOR, css):
            if text in element.text:
                return element
        raise AssertionError(f"no {css} shows {text!r}")

    def approve_all(self, title, message):
        """批量通过 every row of a list on the branch's review page: 全选, then the button."""
        card = self.card(title)
        self.element("[data-check-all]", card).click()
        self.click("button[value=approve]", within=card)
        self.see(".alert-success", message)

    def card(self, title):
        """A card of the branch's review page by its heading (without the count badge)."""
        for card in self.browser.find_elements(By.CSS_SELECTOR, ".todo .card"):
            if card.find_element(By.TAG_NAME, "h2").text.split()[0] == title:
                return card
        raise AssertionError(f"no card {title!r}")

    # ── what the person sees ─────────────────────────────────────────────────────────────
    def see(self, css, text):
        """Wait for `text` in `css`; when it never comes, keep a screenshot and say what was shown."""

        def shown(browser):
            return any(text in element.text for element in browser.find_elements(By.CSS_SELECTOR, css))

        try:
            # Chrome may also report a node of a page being replaced as "not in the document".
            WebDriverWait(self.browser, 5, poll_frequency=0.05, ignored_exceptions=[WebDriverException]).until(shown)
        except TimeoutException:
            self.browser.save_screenshot(str(ARTEFACTS / f"{self.prefix}-failed.png"))
            shown = [e.text for e in self.browser.find_elements(By.CSS_SELECTOR, css)]
            raise AssertionError(f"{self.browser.current_url}: {css} never showed {text!r}; it shows {shown}") from None

    def text(self, css):
        return self.browser.find_element(By.CSS_SELECTOR, css).text

    @staticmethod
    def cells(row):
        return [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]

    def fits(self):
        """Nothing sticks out past the right edge of the screen (a wide table scrolls inside its box)."""
        wide = self.browser.execute_script(WIDER_THAN_SCREEN)
        assert wide == [], f"{self.browser.current_url}: wider than the screen: {wide}"

    def shot(self, name):
        """The whole page, not only the window (a phone page is long)."""
        path = ARTEFACTS / f"{self.prefix}-{len(self.shots) + 1:02d}-{name}.png"
        size = self.browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        image = self.browser.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(image["data"]))
        self.shots.append(path)
        return path

    def download(self, directory, click_css, within=None, timeout=10):
        """Click a download button and wait for the file Chrome saves into `directory`."""
        self.browser.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(directory)}
        )
        self.element(click_css, within).click()
        WebDriverWait(self.browser, timeout, poll_frequency=0.1).until(
            lambda b: [p for p in directory.iterdir() if p.suffix == ".xlsx"], "no workbook was downloaded"
        )
        self.check_page()
        return next(p for p in directory.iterdir() if p.suffix == ".xlsx")


def _stale(element):
    """Whether the page of `element` has gone (Chrome may say so in two ways mid-navigation)."""
    try:
        element.tag_name  # noqa: B018 — touching a replaced element raises
    except (StaleElementReferenceException, WebDriverException):
        return True
    return False
