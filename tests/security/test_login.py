"""Login and sessions: lockout per username + address, password rules, timeouts, revocation, TOTP."""

import datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from members import services
from members.validators import PasswordComplexityValidator
from partyscore.core.client_ip import client_ip
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent
from tests.builders import PASSWORD

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
LOCKED = "登录已暂停"


def post_login(client, username, password, ip="10.1.1.1", **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def fail(client, username, times, ip="10.1.1.1", **extra):
    for _ in range(times):
        response = post_login(client, username, "wrong-password", ip, **extra)
        assert response.status_code == 200  # the form again, not yet the lockout


def logged_in(client):
    return client.get(reverse("home")).status_code == 200


# Lockout (django-axes) ------------------------------------------------------------------------------


def test_five_failures_lock_that_username_from_that_address_only(world, settings):
    user, other = world.secretary.username, world.member.username
    attacker = Client()
    fail(attacker, user, settings.AXES_FAILURE_LIMIT - 1)
    locked = post_login(attacker, user, "wrong-password")
    assert locked.status_code == 429 and LOCKED in locked.content.decode()
    assert "30 分钟" in locked.content.decode()
    # Now even the right password is refused from that address…
    again = post_login(attacker, user, PASSWORD)
    assert again.status_code == 429 and not logged_in(attacker)
    # …but the same person elsewhere, and everyone else behind the same (NAT) address, log in.
    assert post_login(Client(), user, PASSWORD, ip="10.2.2.2").status_code == 302
    neighbour = Client()
    assert post_login(neighbour, other, PASSWORD).status_code == 302 and logged_in(neighbour)


def test_the_lockout_ends_after_the_cool_off(world, settings):
    user = world.secretary.username
    with time_machine.travel(START, tick=False) as traveller:
        fail(Client(), user, settings.AXES_FAILURE_LIMIT - 1)
        assert post_login(Client(), user, "wrong-password").status_code == 429
        traveller.shift(datetime.timedelta(minutes=29))
        assert post_login(Client(), user, PASSWORD).status_code == 429
        traveller.shift(datetime.timedelta(minutes=31))  # counted from the last refused attempt
        client = Client()
        assert post_login(client, user, PASSWORD).status_code == 302 and logged_in(client)


def test_a_success_resets_the_count(world, settings):
    user = world.secretary.username
    client = Client()
    fail(client, user, settings.AXES_FAILURE_LIMIT - 1)
    assert post_login(client, user, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username=user).exists()
    client.post(reverse("logout"))
    fail(client, user, settings.AXES_FAILURE_LIMIT - 1)


def test_behind_a_proxy_the_address_comes_from_the_trusted_hop(world, settings, rf):
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="192.168.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.3.3.3")
    assert client_ip(request) == "10.3.3.3"  # what the proxy saw; the left part is the client's own claim
    assert client_ip(rf.get("/", REMOTE_ADDR="192.168.0.1")) == "192.168.0.1"
    user, proxy = world.secretary.username, "192.168.0.1"
    fail(Client(), user, settings.AXES_FAILURE_LIMIT - 1, ip=proxy, HTTP_X_FORWARDED_FOR="10.3.3.3")
    assert post_login(Client(), user, "wrong-password", ip=proxy, HTTP_X_FORWARDED_FOR="10.3.3.3").status_code == 429
    assert post_login(Client(), user, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="10.3.3.3").status_code == 429
    # Another client through the same proxy is not locked, however it fills in the header itself.
    other = post_login(Client(), user, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="10.3.3.3, 10.4.4.4")
    assert other.status_code == 302


# Password rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password,ok",
    [
        ("abcdefgh12", False),
        ("ABCDEFGH12", False),
        ("abcdEFGHij", False),
        ("abc!@#def", False),
        ("abcdEFGH12", True),
        ("abcd!@#12x", True),
        ("党员积分abc123", True),
        ("Test@Pass-2026", True),
    ],
)
def test_passwords_need_three_kinds_of_character(password, ok):
    validator = PasswordComplexityValidator()
    if ok:
        validator.validate(password)
    else:
        with pytest.raises(ValidationError, match="至少 3 类"):
            validator.validate(password)


def test_the_complexity_rule_is_active_on_the_change_password_page(world, login):
    with pytest.raises(ValidationError):
        validate_password("lowercase1234")
    response = login(world.member).post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "lowercase1234", "new_password2": "lowercase1234"},
    )
    assert response.status_code == 200
    assert "密码须包含大写字母、小写字母、数字、符号中的至少 3 类" in response.content.decode()


def test_a_new_password_may_not_equal_the_current_one(world, login):
    data = {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD}
    response = login(world.member).post(reverse("password_change"), data)
    assert response.status_code == 200 and "新密码不能与当前密码相同" in response.content.decode()
    world.member.refresh_from_db()
    assert world.member.check_password(PASSWORD)
    # The initial password a new account must change cannot be "changed" to itself either.
    world.member.must_change_password = True
    world.member.save(update_fields=["must_change_password"])
    response = login(world.member).post(reverse("password_change"), data)
    assert response.status_code == 200 and "新密码不能与当前密码相同" in response.content.decode()
    world.member.refresh_from_db()
    assert world.member.must_change_password
    fresh = {"old_password": PASSWORD, "new_password1": "Fresh!Pass2026", "new_password2": "Fresh!Pass2026"}
    assert login(world.member).post(reverse("password_change"), fresh).status_code == 302


# One address, many usernames -------------------------------------------------------------------

SLOWED = "本网络地址近期登录失败次数过多"


def test_one_address_guessing_many_usernames_is_slowed_but_its_own_users_still_log_in(world, settings):
    """Two guesses for each of many usernames never meet the per-username lockout; counted per
    address they are slowed down. A NAT's users who logged in from their browser before go on."""
    nat = "10.7.7.7"
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    with time_machine.travel(START, tick=False) as traveller:
        colleague = Client()  # logged in from behind the NAT earlier today: a known browser
        assert post_login(colleague, world.secretary.username, PASSWORD, ip=nat).status_code == 302
        colleague.post(reverse("logout"))
        attacker = Client()
        for n in range(limit):
            fail(attacker, f"guess{n // 2}", 1, ip=nat)
        assert not AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT).exists()
        # The address is now slowed: the next attempt is not even checked, whatever the password…
        refused = post_login(attacker, world.member.username, PASSWORD, ip=nat)
        assert refused.status_code == 429 and SLOWED in refused.content.decode() and not logged_in(attacker)
        assert refused["Retry-After"] == "1"
        # …while the known browser logs in at once, and the same users elsewhere are untouched.
        assert post_login(colleague, world.secretary.username, PASSWORD, ip=nat).status_code == 302
        assert post_login(Client(), world.member.username, PASSWORD, ip="10.8.8.8").status_code == 302
        # The delay doubles with each failure past the limit: 1 s, 2 s, 4 s … up to a minute.
        delays = []
        for i in range(8):
            traveller.shift(datetime.timedelta(seconds=61))
            fail(attacker, f"guess-more{i}", 1, ip=nat)
            page = post_login(attacker, "guess-again", "x", ip=nat)
            assert page.status_code == 429
            page = page.content.decode()
            delays.append(int(page.split("请 ", 1)[1].split(" 秒", 1)[0]))
        assert delays == [2, 4, 8, 16, 32, 60, 60, 60]
        # A newcomer behind the NAT is slowed, never locked: after the wait their right password works.
        traveller.shift(datetime.timedelta(seconds=61))
        newcomer = Client()
        assert post_login(newcomer, world.member.username, PASSWORD, ip=nat).status_code == 302
        assert logged_in(newcomer)


# Session timeouts --------------------------------------------------------------------------------


def test_an_idle_session_ends_and_says_why(world, client):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(world.member)
        traveller.shift(datetime.timedelta(minutes=29))
        assert logged_in(client)
        traveller.shift(datetime.timedelta(minutes=29))  # active 29 minutes ago: still fine
        assert logged_in(client)
        traveller.shift(datetime.timedelta(minutes=31))
        response = client.get(reverse("home"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        assert "长时间未操作，已自动退出" in client.get(response["Location"]).content.decode()
        assert not logged_in(client)


def test_even_an_active_session_ends_at_the_absolute_cap(world, client, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT = 60 * 60
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(world.member)
        for _ in range(3):
            traveller.shift(datetime.timedelta(minutes=20))
            assert logged_in(client)
        traveller.shift(datetime.timedelta(minutes=1))
        response = client.get(reverse("home"), follow=True)
        assert response.resolver_match.url_name == "login" and "登录时间已达上限" in response.content.decode()


def test_an_expired_htmx_request_redirects_the_whole_page(world, client):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(world.secretary)
        traveller.shift(datetime.timedelta(minutes=31))
        response = client.get(reverse("member_list", args=[world.A1.pk]), HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and response["HX-Redirect"] == reverse("login")


# Revocation on password change -------------------------------------------------------------------


def test_changing_the_password_ends_every_other_session(world):
    phone, laptop = Client(), Client()
    for client in (phone, laptop):
        assert post_login(client, world.member.username, PASSWORD).status_code == 302
    response = laptop.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "Fresh!Pass2026", "new_password2": "Fresh!Pass2026"},
    )
    assert response.status_code == 302
    assert logged_in(laptop)  # the session that changed it stays
    assert not logged_in(phone)


# TOTP two-factor ---------------------------------------------------------------------------------


def code(key):
    """What the phone shows now (time_machine moves both clocks)."""
    return f"{TOTP(bytes.fromhex(key)).token():06d}"


def enrol(client):
    page = client.get(reverse("two_factor"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    key = client.session["two_factor_enrol_key"]
    assert client.post(reverse("two_factor"), {"token": code(key)}).status_code == 302
    return key


def test_committee_college_and_branch_secretaries_are_offered_two_factor(world, login):
    """Branch secretaries open accounts and record points: they may turn on the second factor too."""
    for user in (world.org_department, world.gb_secretary, world.secretary):
        client = login(user)
        assert 'href="/accounts/two-factor/"' in client.get(reverse("home")).content.decode()
        assert client.get(reverse("two_factor")).status_code == 200
    for user in (world.member, world.committee, world.recorder):
        client = login(user)
        assert 'href="/accounts/two-factor/"' not in client.get(reverse("home")).content.decode()
        assert client.get(reverse("two_factor")).status_code == 403


def test_a_branch_secretary_enrols_and_then_logs_in_with_the_code(world, login):
    with time_machine.travel(START, tick=False) as traveller:
        key = enrol(login(world.secretary))
        traveller.shift(datetime.timedelta(seconds=60))
        client = Client()
        assert post_login(client, world.secretary.username, PASSWORD)["Location"] == reverse("login_two_factor")
        assert not logged_in(client)
        assert client.post(reverse("login_two_factor"), {"token": code(key)}).status_code == 302
        assert logged_in(client)


def test_the_committee_can_require_the_second_factor_per_role(world, login, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["branch_secretary", "recorder"]
    assert login(world.secretary).get(reverse("home"))["Location"] == reverse("two_factor")
    assert "必须启用两步验证" in login(world.secretary).get(reverse("two_factor")).content.decode()
    # A required role is offered even if it is not in TWO_FACTOR_ROLES.
    assert login(world.recorder).get(reverse("home"))["Location"] == reverse("two_factor")
    # Roles not listed are not forced (the organization department may still choose to enrol).
    for user in (world.org_department, world.gb_secretary, world.member):
        assert login(user).get(reverse("home")).status_code == 200
    TOTPDevice.objects.create(user=world.secretary, name="authenticator", confirmed=True)
    with pytest.raises(ApplicationError, match="不能关闭"):
        services.two_factor_disable(user=world.secretary, token="000000")
    assert login(world.secretary).get(reverse("home")).status_code == 200


def test_the_organization_department_requires_the_second_factor_per_role_on_a_page(world, login):
    from members.models import TwoFactorRequirement

    url = reverse("two_factor_requirements")
    earlier = Client()
    earlier.force_login(world.recorder)  # logged in before the change
    client = login(world.org_department)
    page = client.get(url).content.decode()
    assert "记分员" in page and "两步验证要求" in page
    refused = client.post(url, {"roles": ["recorder"], "reason": ""})
    assert refused.status_code == 400 and "调整原因" in refused.content.decode()
    assert client.post(url, {"roles": ["no_such_role"], "reason": "测评"}).status_code == 400
    assert not TwoFactorRequirement.objects.exists()
    saved = client.post(url, {"roles": ["recorder"], "reason": "等级保护测评要求记分员启用"})
    assert saved.status_code == 302
    assert list(TwoFactorRequirement.objects.values_list("role", flat=True)) == ["recorder"]
    event = AuditEvent.objects.get(action="security.two_factor_roles")
    assert (event.actor, event.before, event.after) == (world.org_department, {"roles": []}, {"roles": ["recorder"]})
    assert event.reason == "等级保护测评要求记分员启用"
    assert "已启用" in client.get(url).content.decode()
    unchanged = client.post(url, {"roles": ["recorder"], "reason": "再存一次"})
    assert unchanged.status_code == 400 and "没有需要保存的修改" in unchanged.content.decode()
    # From the next login: the recorder must enrol first; a session from before runs out as it was.
    assert earlier.get(reverse("home")).status_code == 200
    assert login(world.recorder).get(reverse("home"))["Location"] == reverse("two_factor")
    assert "必须启用两步验证" in login(world.recorder).get(reverse("two_factor")).content.decode()
    assert login(world.secretary).get(reverse("home")).status_code == 200
    TOTPDevice.objects.create(user=world.recorder, name="authenticator", confirmed=True)
    with pytest.raises(ApplicationError, match="不能关闭"):
        services.two_factor_disable(user=world.recorder, token="000000")
    # Nobody else sets it.
    assert login(world.secretary).get(url).status_code == 403
    with pytest.raises(PermissionDenied):
        services.two_factor_requirement_set(actor=world.gb_secretary, roles=[], reason="x")


def test_enrol_then_log_in_with_the_code(world, login):
    user = world.org_department
    with time_machine.travel(START, tick=False) as traveller:
        client = login(user)
        page = client.get(reverse("two_factor")).content.decode()
        assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]  # QR is inline SVG only
        key = client.session["two_factor_enrol_key"]
        wrong = client.post(reverse("two_factor"), {"token": f"{(int(code(key)) + 1) % 10**6:06d}"})
        assert "验证码不正确" in wrong.content.decode() and not TOTPDevice.objects.filter(user=user).exists()
        assert client.post(reverse("two_factor"), {"token": code(key)}).status_code == 302
        assert TOTPDevice.objects.get(user=user).confirmed
        assert AuditEvent.objects.filter(action="user.two_factor_enable", actor=user).exists()

        traveller.shift(datetime.timedelta(seconds=60))  # the enrolment code cannot be replayed
        browser = Client()
        response = post_login(browser, user.username, PASSWORD)
        assert response.status_code == 302 and response["Location"] == reverse("login_two_factor")
        assert not logged_in(browser)  # a right password alone gives no usable session
        bad = browser.post(reverse("login_two_factor"), {"token": "000000"}, REMOTE_ADDR="10.1.1.1")
        assert "验证码不正确" in bad.content.decode() and not logged_in(browser)
        assert AccessAttempt.objects.get(username=user.username).failures_since_start == 1
        traveller.shift(datetime.timedelta(seconds=30))  # past django-otp's throttle delay
        done = browser.post(reverse("login_two_factor"), {"token": code(key)}, REMOTE_ADDR="10.1.1.1")
        assert done.status_code == 302 and logged_in(browser)
        assert not AccessAttempt.objects.filter(username=user.username).exists()


def test_wrong_codes_lock_out_like_wrong_passwords(world, settings):
    user = world.org_department
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    browser = Client()
    post_login(browser, user.username, PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert browser.post(reverse("login_two_factor"), {"token": "000000"}, REMOTE_ADDR="10.1.1.1").status_code == 200
    assert browser.post(reverse("login_two_factor"), {"token": "000000"}, REMOTE_ADDR="10.1.1.1").status_code == 429
    # The half-finished login is gone: the password has to be given again, and is refused while locked.
    assert browser.get(reverse("login_two_factor"))["Location"] == reverse("login")
    assert post_login(browser, user.username, PASSWORD).status_code == 429


def test_disable_needs_a_code_and_a_reset_needs_the_administrator(world, login):
    user = world.gb_secretary
    with time_machine.travel(START, tick=False) as traveller:
        client = login(user)
        key = enrol(client)
        traveller.shift(datetime.timedelta(seconds=60))
        refused = client.post(reverse("two_factor_disable"), {"token": "000000"}, follow=True)
        assert "验证码不正确" in refused.content.decode() and TOTPDevice.objects.filter(user=user).exists()
        traveller.shift(datetime.timedelta(seconds=60))
        client.post(reverse("two_factor_disable"), {"token": code(key)})
        assert not TOTPDevice.objects.filter(user=user).exists()
        assert AuditEvent.objects.filter(action="user.two_factor_disable", actor=user).exists()
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    call_command("two_factor_reset", user.username, reason="手机丢失")
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert AuditEvent.objects.get(action="user.two_factor_reset").reason == "手机丢失"


def test_the_admin_login_cannot_skip_the_second_factor(world, client):
    response = client.get(reverse("admin:login"), {"next": "/admin/"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.post(reverse("admin:login"), {"username": "root", "password": PASSWORD}).status_code == 302
    assert not logged_in(client)


def test_when_required_committee_accounts_must_enrol_first(world, login, settings):
    settings.TWO_FACTOR_REQUIRED = True
    assert login(world.org_department).get(reverse("home"))["Location"] == reverse("two_factor")
    assert "必须启用两步验证" in login(world.org_department).get(reverse("two_factor")).content.decode()
    assert login(world.member).get(reverse("home")).status_code == 200
    TOTPDevice.objects.create(user=world.gb_secretary, name="authenticator", confirmed=True)
    with pytest.raises(ApplicationError, match="不能关闭"):
        services.two_factor_disable(user=world.gb_secretary, token="000000")
