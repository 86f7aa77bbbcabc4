"""Each messaging service as a local stub on 127.0.0.1, and the settings that point a channel at it."""

import pytest

from .stubs import DingTalkStub, SmsStub, WeComStub


@pytest.fixture
def wecom(settings):
    stub = WeComStub()
    settings.WECOM_API_BASE, settings.WECOM_CORP_ID = stub.base, stub.corp_id
    settings.WECOM_SECRET, settings.WECOM_AGENT_ID = stub.secret, str(stub.agent_id)
    yield stub
    stub.stop()


@pytest.fixture
def dingtalk(settings):
    stub = DingTalkStub()
    settings.DINGTALK_API_BASE, settings.DINGTALK_APP_KEY = stub.base, stub.app_key
    settings.DINGTALK_APP_SECRET, settings.DINGTALK_AGENT_ID = stub.app_secret, str(stub.agent_id)
    yield stub
    stub.stop()


@pytest.fixture
def sms(settings):
    stub = SmsStub()
    settings.SMS_GATEWAY_URL, settings.SMS_API_KEY = stub.url, stub.api_key
    yield stub
    stub.stop()


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://party.example.edu.cn"
    settings.NOTIFY_MAX_RETRIES = 3
    return settings
