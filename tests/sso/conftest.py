"""Real campus identity peers on 127.0.0.1 (tests/sso/peer.py, one process each, started once per test
session on a free port) and the settings that point the site at them."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.browser.conftest import browser, screenshot  # noqa: F401 (the chromium fixtures, for test_browser.py)
from tests.builders import build_university

PEER = Path(__file__).with_name("peer.py")
CAMPUS_PASSWORD = {"zhangsan": "campus-pass-1", "nobody": "campus-pass-2"}


def start_peer(kind, workdir, site):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen(  # noqa: S603 (our own script, fixed arguments)
        [sys.executable, str(PEER), kind, str(workdir), site],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        pytest.fail(f"the {kind} peer did not start: {process.stderr.read()}")
    return process, json.loads(line)


@pytest.fixture(scope="session")
def peers(tmp_path_factory, live_server):
    workdir = tmp_path_factory.mktemp("peers")
    started = {kind: start_peer(kind, workdir, live_server.url) for kind in ("cas", "oidc")}
    facts = {kind: info for kind, (_process, info) in started.items()}
    facts["oidc"]["discovery"] = requests.get(
        f"{facts['oidc']['url']}/o/.well-known/openid-configuration", timeout=10
    ).json()
    yield facts
    for process, _info in started.values():
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def world(append_only_flush):
    """The test university; transactional, since the peers (started beside the live server) call back."""
    return build_university()


def _csp_with(settings, *urls):
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    origins = [f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in urls]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**directives, "form-action": [*directives["form-action"], *origins]}
    }


@pytest.fixture
def cas_on(settings, peers):
    settings.ROOT_URLCONF = "tests.sso.urls"
    settings.CAS_SERVER_URL = f"{peers['cas']['url']}/"
    settings.CAS_NUMBER_ATTRIBUTE = "employeeNumber"
    _csp_with(settings, settings.CAS_SERVER_URL)
    return peers["cas"]


@pytest.fixture
def oidc_on(settings, peers):
    info, found = peers["oidc"], peers["oidc"]["discovery"]
    settings.ROOT_URLCONF = "tests.sso.urls"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = found["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = found["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = found["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = found["jwks_uri"]
    settings.OIDC_OP_LOGOUT_ENDPOINT = found["end_session_endpoint"]
    settings.OIDC_OP_ISSUER = found["issuer"]
    settings.OIDC_RP_CLIENT_ID = info["client_id"]
    settings.OIDC_RP_CLIENT_SECRET = info["client_secret"]
    settings.OIDC_NUMBER_CLAIM = "student_number"
    _csp_with(settings, settings.OIDC_OP_LOGOUT_ENDPOINT)
    return info


def hidden_fields(html):
    """The form's hidden inputs (csrf token, login ticket, service) from a peer's login page."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[name.group(1)] = value.group(1).replace("&amp;", "&") if value else ""
    return fields


def campus_sign_in(session, login_url, who):
    """Sign in at the peer's login page with `session` (the person's browser at the campus); return
    where the peer then sends the browser back to the site (the first redirect off the peer)."""
    page = session.get(login_url, timeout=10)
    data = {**hidden_fields(page.text), "username": who, "password": CAMPUS_PASSWORD[who]}
    response = session.post(page.url, data=data, allow_redirects=False, timeout=10)
    return follow_on_peer(session, response, urlsplit(login_url).netloc)


def follow_on_peer(session, response, peer_host):
    """Follow redirects while they stay on the peer; return the first URL elsewhere."""
    for _hop in range(10):
        assert response.status_code in (301, 302, 303), (response.status_code, response.text[:500])
        location = urljoin(response.url, response.headers["Location"])
        if urlsplit(location).netloc != peer_host:
            return location
        response = session.get(location, allow_redirects=False, timeout=10)
    raise AssertionError("the peer kept redirecting")


def path_of(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
