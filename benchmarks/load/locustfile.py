"""Locust users for the load test: one class per role, each simulated user on a demo account of its own.

Started by `python -m benchmarks.load`, which seeds the database and writes the plan this reads
from $LOAD_PLAN. Never import Django here: locust patches the standard library with gevent.

Each user logs in through the real login form, then reads the pages of its role (pages.PAGES,
weighted) and now and then writes through a real form as a browser would: GET the form, POST it
with the CSRF token from the page, follow the redirect. A refused login, a write the application
refuses, a page that is not a 200 or sends the user back to the login form: each is a failure.
"""

import itertools
import json
import os
import random
import re
from pathlib import Path
from urllib.parse import urlsplit

from locust import HttpUser, between

from benchmarks.load.pages import LOGIN, PAGES, PHONE, WRITES

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
ACCOUNTS = {role: itertools.cycle(accounts) for role, accounts in PLAN["accounts"].items()}
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION = re.compile(r'name="version_(\d+)" value="(\d+)"')
RATING = re.compile(r'name="rating_(\d+)"')
OCCURRED_ON = re.compile(r'name="occurred_on" value="([^"]+)"')
ALERT = re.compile(r"alert-danger[^>]*>(.*?)</", re.S)


def half_points(limit_centi):
    """A value the score forms accept for an item that takes at most `limit_centi`."""
    return f"{random.randint(0, limit_centi // 50) / 2:g}"


class RoleUser(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    role = ""

    def on_start(self):
        self.account = next(ACCOUNTS[self.role])
        self.pages = [
            (name, path, weight)
            for name, path, weight in PAGES[self.role]
            if all(key in self.account for key in re.findall(r"{(\w+)}", path))
        ]
        self.login()

    def url(self, path):
        return path.format(
            **{key: random.choice(value) if isinstance(value, list) else value for key, value in self.account.items()}
        )

    def get(self, name, url):
        with self.client.get(url, name=f"{self.role}:{name}", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif urlsplit(response.url).path == LOGIN[1] and name != LOGIN[0]:
                response.failure("sent back to the login form")
            return response.text

    def post(self, name, url, data, landing=None):
        """POST a form and follow the redirect a successful write answers with (to `landing`, if
        that is another page than the form's)."""
        with self.client.post(
            url, data=data, name=f"{self.role}:{name}", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                refusal = ALERT.search(response.text)
                response.failure(f"HTTP {response.status_code}: {refusal.group(1).strip() if refusal else ''}")
                return
            location = response.headers["Location"]
        self.get(landing or name, location)

    def login(self):
        page = self.get(LOGIN[0], LOGIN[1])
        data = {
            "csrfmiddlewaretoken": CSRF.search(page).group(1),
            "next": "",
            "username": self.account["username"],
            "password": PLAN["password"],
        }
        with self.client.post(
            LOGIN[1], data=data, name=f"{self.role}:{LOGIN[0]}", allow_redirects=False, catch_response=True
        ) as response:
            # Success redirects home; a refusal re-renders the form, the lockout page or a second step.
            if response.status_code != 302 or urlsplit(response.headers["Location"]).path != "/":
                response.failure(f"login of {self.account['username']} refused: HTTP {response.status_code}")
                raise RuntimeError(f"cannot log in as {self.account['username']}")

    def form(self):
        """GET the role's write form: (its URL, its HTML, the POST data it starts from)."""
        url = self.url(WRITES[self.role][1])
        page = self.get(WRITES[self.role][0], url)
        return url, page, {"csrfmiddlewaretoken": CSRF.search(page).group(1)}

    def read(self):
        name, path, _weight = random.choices(self.pages, weights=[w for _n, _p, w in self.pages])[0]
        self.get(name, self.url(path))


def role_tasks(role, write=None):
    """Locust's {task: weight}: one of the role's pages, or its write (WRITES gives the weight)."""
    tasks = {RoleUser.read: sum(w for _n, _p, w in PAGES[role])}
    if write is not None:
        tasks[write] = WRITES[role][2]
    return tasks


class Committee(RoleUser):
    """组织部: dashboards, the university's lists, the audit log."""

    role = "committee"
    weight = 2
    tasks = role_tasks(role)


class College(RoleUser):
    """党总支书记: the college's dashboard, board and lists, its branches' dashboards."""

    role = "college"
    weight = 2
    tasks = role_tasks(role)


class BranchSecretary(RoleUser):
    """党支部书记: the branch's review page, ledger and roster; records ledger entries."""

    role = "branch"
    weight = 8

    def record(self):
        if not self.account["record_items"]:
            return self.read()
        url, page, data = self.form()
        item, points = random.choice(self.account["record_items"])
        data.update(
            member=random.choice(self.account["member"]),
            item=item,
            period=self.account["period"],
            points=points,
            occurred_on=OCCURRED_ON.search(page).group(1),
            reason="压力测试：参加志愿服务",
        )
        return self.post(WRITES[self.role][0], url, data)

    tasks = role_tasks(role, record)


class Member(RoleUser):
    """党员 on a phone: home, their card, their review steps; saves a self-assessment draft."""

    role = "member"
    weight = 20

    def on_start(self):
        self.client.headers["User-Agent"] = PHONE
        super().on_start()

    def save_draft(self):
        if "self_period" not in self.account:  # Policy B: no self-assessment
            return self.read()
        url, _page, data = self.form()
        items = self.account["self_items"]
        data.update(
            {f"points_{item}": half_points(limit) for item, limit in random.sample(items, k=min(3, len(items)))}
        )
        data.update(action="save", note="压力测试草稿")
        return self.post(WRITES[self.role][0], url, data)

    tasks = role_tasks(role, save_draft)


class Panelist(RoleUser):
    """考评小组成员: the panel board and members' score sheets; saves scores."""

    role = "panelist"
    weight = 5

    def score(self):
        url, page, data = self.form()
        versions = dict(VERSION.findall(page))
        items = self.account["panel_items"]
        for item, limit in random.sample(items, k=min(3, len(items))):
            data[f"points_{item}"] = half_points(limit)
            data[f"version_{item}"] = versions.get(str(item), "0")
        self.post(WRITES[self.role][0], url, data)

    tasks = role_tasks(role, score)


class MassRepresentative(RoleUser):
    """群众代表: the evaluation form, handed in once (one evaluation a year)."""

    role = "mass"
    weight = 3

    def evaluate(self):
        if not self.account["evaluate"] or getattr(self, "evaluated", False):
            return self.read()
        self.evaluated = True
        url, page, data = self.form()
        data.update({f"rating_{member}": random.randint(1, 4) for member in RATING.findall(page)})
        data.update(panel_rating=random.randint(1, 4), branch_rating=random.randint(1, 4), comments="")
        return self.post(WRITES[self.role][0], url, data, landing="home")

    tasks = role_tasks(role, evaluate)
