"""The ways a notice reaches a person besides the in-app list: e-mail, 企业微信 (WeCom) application
messages, DingTalk work notices and an SMS gateway. Each channel is one small class:

- `name` and `label`; `enabled()`: switched on by the deployment's settings (docs/deployment.md);
- `address(user)`: where this person receives it ("" when unknown); `chosen(user)`: whether they asked;
- `send(address, message)`: sends one message, or raises `Deferred` (try again later: rate limit,
  network, a busy service) or `Refused` (it will not go through: a wrong account, a refused request).

partyscore/core/delivery.py decides which channels a notice takes and records how each delivery went.
"""

import json
import smtplib
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.utils.translation import gettext_lazy as _


class Message(NamedTuple):
    subject: str
    text: str
    link: str  # absolute, or ""


class Deferred(Exception):
    """Not sent this time; worth trying again (after `countdown` seconds when the service said so)."""

    def __init__(self, reason, countdown=None):
        super().__init__(reason)
        self.countdown = countdown


class Refused(Exception):
    """Not sent, and trying again would not help."""


def _http(method, url, *, params=None, body=None, headers=None):
    """(status, decoded JSON or None) of one HTTP call; transport failures and 5xx answers are Deferred."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise Refused(f"not an http(s) address: {url}")
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (checked)
    try:
        with urllib.request.urlopen(request, timeout=settings.NOTIFY_HTTP_TIMEOUT) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
        if status >= 500:
            raise Deferred(f"HTTP {status}") from error
        if status == 429:
            retry_after = error.headers.get("Retry-After", "")
            raise Deferred("HTTP 429", int(retry_after) if retry_after.isdigit() else None) from error
    except (urllib.error.URLError, OSError) as error:
        raise Deferred(f"{type(error).__name__}: {error}") from error
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


class Channel(ABC):
    name = ""
    label = ""

    @abstractmethod
    def enabled(self): ...

    @abstractmethod
    def address(self, user): ...

    def chosen(self, user):
        return self.name in (user.notify_channels or [])

    @abstractmethod
    def send(self, address, message): ...


class Email(Channel):
    name = "email"
    label = _("电子邮件")

    def enabled(self):
        return True

    def address(self, user):
        return user.email

    def chosen(self, user):
        return user.email_notifications

    def send(self, address, message):
        body = f"{message.text}\n{message.link}" if message.link else message.text
        try:
            send_mail(message.subject, body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            raise Refused(str(error)) from error
        except (smtplib.SMTPException, OSError) as error:
            raise Deferred(f"{type(error).__name__}: {error}") from error


class TokenChannel(Channel, ABC):
    """A service that wants an access token on each call (WeCom, DingTalk): fetched once, kept in the
    cache until shortly before it expires, fetched again once when the service calls it invalid."""

    TOKEN_INVALID = ()  # errcodes meaning "fetch a new token"
    RATE_LIMITED = ()  # errcodes meaning "too many calls, try later"
    BUSY = (-1,)  # "system busy"

    def token_cache_key(self):
        return f"notify:{self.name}:token"

    @abstractmethod
    def fetch_token(self):
        """(access_token, expires_in seconds)."""

    @abstractmethod
    def call(self, token, address, message):
        """The service's decoded answer to the send request."""

    def check(self, answer, stage):
        if not isinstance(answer, dict):
            raise Deferred(f"{stage}: unreadable answer")
        code = answer.get("errcode", 0)
        if code == 0:
            return answer
        reason = f"{stage}: errcode {code} {answer.get('errmsg', '')}".strip()
        if code in self.RATE_LIMITED or code in self.BUSY:
            raise Deferred(reason)
        raise Refused(reason)

    def token(self, fresh=False):
        key = self.token_cache_key()
        found = None if fresh else cache.get(key)
        if found:
            return found
        token, expires_in = self.fetch_token()
        cache.set(key, token, max(int(expires_in) - 300, 1))  # renewed five minutes before it lapses
        return token

    def send(self, address, message):
        answer = self.call(self.token(), address, message)
        if isinstance(answer, dict) and answer.get("errcode") in self.TOKEN_INVALID:
            answer = self.call(self.token(fresh=True), address, message)
        self.check(answer, "send")
        return answer


class WeCom(TokenChannel):
    """企业微信 application messages: GET /cgi-bin/gettoken, POST /cgi-bin/message/send."""

    name = "wecom"
    label = _("企业微信")
    TOKEN_INVALID = (40014, 42001, 41001)
    RATE_LIMITED = (45009, 45033)

    def enabled(self):
        return bool(settings.WECOM_CORP_ID and settings.WECOM_SECRET and settings.WECOM_AGENT_ID)

    def address(self, user):
        return user.wecom_userid

    def fetch_token(self):
        _status, answer = _http(
            "GET",
            f"{settings.WECOM_API_BASE}/cgi-bin/gettoken",
            params={"corpid": settings.WECOM_CORP_ID, "corpsecret": settings.WECOM_SECRET},
        )
        answer = self.check(answer, "gettoken")
        return answer["access_token"], answer.get("expires_in", 7200)

    def call(self, token, address, message):
        body = {"touser": address, "agentid": int(settings.WECOM_AGENT_ID)}
        if message.link:
            body |= {
                "msgtype": "textcard",
                "textcard": {
                    "title": message.subject,
                    "description": message.text,
                    "url": message.link,
                    "btntxt": "详情",
                },
            }
        else:
            body |= {"msgtype": "text", "text": {"content": message.text}}
        _status, answer = _http(
            "POST", f"{settings.WECOM_API_BASE}/cgi-bin/message/send", params={"access_token": token}, body=body
        )
        return answer

    def send(self, address, message):
        answer = super().send(address, message)
        if answer.get("invaliduser") or answer.get("unlicenseduser"):
            raise Refused(f"send: invalid user {address}")


class DingTalk(TokenChannel):
    """DingTalk work notices (工作通知): GET /gettoken, POST /topapi/message/corpconversation/asyncsend_v2."""

    name = "dingtalk"
    label = _("钉钉")
    TOKEN_INVALID = (40014, 42001, 41001)
    RATE_LIMITED = (90002, 90005, 90006, 90018, 88)

    def enabled(self):
        return bool(settings.DINGTALK_APP_KEY and settings.DINGTALK_APP_SECRET and settings.DINGTALK_AGENT_ID)

    def address(self, user):
        return user.dingtalk_userid

    def fetch_token(self):
        _status, answer = _http(
            "GET",
            f"{settings.DINGTALK_API_BASE}/gettoken",
            params={"appkey": settings.DINGTALK_APP_KEY, "appsecret": settings.DINGTALK_APP_SECRET},
        )
        answer = self.check(answer, "gettoken")
        return answer["access_token"], answer.get("expires_in", 7200)

    def call(self, token, address, message):
        if message.link:
            msg = {
                "msgtype": "action_card",
                "action_card": {
                    "title": message.subject,
                    "markdown": message.text,
                    "single_title": "详情",
                    "single_url": message.link,
                },
            }
        else:
            msg = {"msgtype": "text", "text": {"content": message.text}}
        body = {"agent_id": int(settings.DINGTALK_AGENT_ID), "userid_list": address, "msg": msg}
        _status, answer = _http(
            "POST",
            f"{settings.DINGTALK_API_BASE}/topapi/message/corpconversation/asyncsend_v2",
            params={"access_token": token},
            body=body,
        )
        return answer


class Sms(Channel):
    """A generic HTTP gateway: POST {"phone", "text"} as JSON with the API key in a header; any 2xx is
    sent, 429 and 5xx are tried again, any other answer is refused."""

    name = "sms"
    label = _("短信")

    def enabled(self):
        return bool(settings.SMS_GATEWAY_URL)

    def address(self, user):
        member = getattr(user, "member", None)
        return member.phone if member is not None else ""

    def send(self, address, message):
        text = f"{message.text} {message.link}" if message.link else message.text
        status, answer = _http(
            "POST",
            settings.SMS_GATEWAY_URL,
            body={"phone": address, "text": text},
            headers={settings.SMS_API_KEY_HEADER: settings.SMS_API_KEY},
        )
        if not 200 <= status < 300:
            detail = answer.get("error", "") if isinstance(answer, dict) else ""
            raise Refused(f"HTTP {status} {detail}".strip())


CHANNELS = {channel.name: channel for channel in (Email(), WeCom(), DingTalk(), Sms())}


def enabled_channels():
    return [channel for channel in CHANNELS.values() if channel.enabled()]


def choosable_channels():
    """The channels besides e-mail that a person may switch on for themselves."""
    return [channel for channel in enabled_channels() if channel.name != "email"]


def kind_allows(template, name):
    """Whether notices of `template` may take channel `name` (settings.NOTIFY_CHANNELS_BY_KIND)."""
    routes = settings.NOTIFY_CHANNELS_BY_KIND
    if not routes:
        return True
    allowed = routes.get(template, routes.get("*"))
    return allowed is None or name in allowed


def channels_for(user, template):
    """(channel, address) for each channel a notice of `template` takes to `user`, besides in-app."""
    found = []
    for channel in enabled_channels():
        if channel.chosen(user) and kind_allows(template, channel.name):
            address = channel.address(user)
            if address:
                found.append((channel, address))
    return found
