"""One address guessing many usernames is slowed down; a campus NAT's own users are not locked out.

django-axes locks a username *from an address* after a few failures, so an attacker who tries one
or two passwords for each of many usernames never meets it. Here every failed login from an
address counts, whatever the username (a cache counter for LOGIN_ADDRESS_WINDOW). Past
LOGIN_ADDRESS_FAILURE_LIMIT failures the address is slowed: one password is checked, then none
until a wait that doubles with each further failure (capped at LOGIN_ADDRESS_MAX_DELAY) has passed.
A refused attempt is not checked at all, so it tells the guesser nothing.

Behind a NAT thousands share the address. Whoever has logged in from this browser before carries a
signed "known device" cookie for their username (OWASP's device cookies), and their attempts are
never slowed; a newcomer without one waits at most the current delay, and is never locked.
"""

import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache

from partyscore.core.client_ip import client_ip

DEVICE_COOKIE = "ps_known_device"
DEVICE_SALT = "members.address_throttle.device"
DEVICE_MAX_AGE = 180 * 24 * 3600


def _keys(address):
    return f"login-address-failures:{address}", f"login-address-next:{address}"


def record_failure(request):
    """A failed password or code from the request's address (user_login_failed)."""
    address = client_ip(request) if request is not None else None
    if not address:
        return
    count_key, next_key = _keys(address)
    cache.add(count_key, 0, settings.LOGIN_ADDRESS_WINDOW)
    try:
        failures = cache.incr(count_key)
    except ValueError:  # expired between add and incr
        cache.set(count_key, 1, settings.LOGIN_ADDRESS_WINDOW)
        failures = 1
    over = failures - settings.LOGIN_ADDRESS_FAILURE_LIMIT
    if over >= 0:
        delay = min(settings.LOGIN_ADDRESS_MAX_DELAY, 2**over)
        cache.set(next_key, time.time() + delay, settings.LOGIN_ADDRESS_WINDOW)


def wait_seconds(request, username):
    """How long the address must wait before this attempt is checked; 0 when it may go ahead."""
    if is_known_device(request, username):
        return 0
    _count_key, next_key = _keys(client_ip(request))
    allowed_at = cache.get(next_key)
    if allowed_at is None:
        return 0
    return max(0, int(allowed_at - time.time() + 0.999))


def is_known_device(request, username):
    token = request.COOKIES.get(DEVICE_COOKIE)
    if not token or not username:
        return False
    try:
        known = signing.loads(token, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return False
    return isinstance(known, list) and username.casefold() in known


def remember_device(request, response, user):
    """After a successful login: this browser is known for this username (a few usernames at most)."""
    known = []
    token = request.COOKIES.get(DEVICE_COOKIE)
    if token:
        try:
            known = signing.loads(token, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
        except signing.BadSignature:
            known = []
    name = user.get_username().casefold()
    known = [name, *[k for k in known if isinstance(k, str) and k != name]][:5]
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(known, salt=DEVICE_SALT),
        max_age=DEVICE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response
