"""Local stand-ins for the messaging services, each speaking that service's documented HTTP API on
127.0.0.1 (a free port): the token fetch, the send call, their error codes and rate limits.

- WeCom (企业微信): GET /cgi-bin/gettoken?corpid=&corpsecret= → {errcode, access_token, expires_in};
  POST /cgi-bin/message/send?access_token= {touser, agentid, msgtype text|textcard, …} →
  {errcode 0, invaliduser, msgid}; 41001 no token, 40014 invalid token, 42001 expired token,
  45009 rate limit, 81013 no valid recipient, 40001 wrong secret, 301002 wrong agent.
- DingTalk: GET /gettoken?appkey=&appsecret= → {errcode, access_token, expires_in};
  POST /topapi/message/corpconversation/asyncsend_v2?access_token= {agent_id, userid_list, msg} →
  {errcode 0, task_id, request_id}; 40014 / 42001 token, 90018 QPS limit, 40056 wrong agent,
  40089 wrong key or secret.
- SMS gateway: POST /send with the key in X-API-Key, {phone, text} → 200 {id}; 401 wrong key,
  400 a malformed number, 429 with Retry-After when rate limited.
"""

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Stub:
    """A threaded HTTP server; subclasses answer `handle(method, path, query, body, headers)` with
    (status, JSON, extra headers). Every request is kept in `requests`."""

    def __init__(self):
        self.requests = []
        self.rate_limited = 0  # the next n send calls are refused as too frequent
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self, method):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with stub.lock:
                    stub.requests.append(
                        {
                            "method": method,
                            "path": url.path,
                            "query": query,
                            "body": body,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                        }
                    )
                    status, payload, headers = stub.handle(method, url.path, query, body, self.headers)
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.answer("GET")

            def do_POST(self):
                self.answer("POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, path):
        return [r for r in self.requests if r["path"] == path]

    def take_rate_limit(self):
        if self.rate_limited:
            self.rate_limited -= 1
            return True
        return False


class TokenStub(Stub):
    """What WeCom and DingTalk share: tokens issued, valid until expired."""

    def __init__(self):
        super().__init__()
        self.counter = itertools.count(1)
        self.valid, self.expired = set(), set()
        self.users = set()
        self.sent = []

    def issue(self):
        token = f"token-{next(self.counter)}"
        self.valid.add(token)
        return token

    def expire_tokens(self):
        self.expired |= self.valid
        self.valid = set()

    def token_error(self, token):
        if not token:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        if token in self.expired:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if token not in self.valid:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        return None


class WeComStub(TokenStub):
    def __init__(self, corp_id="corp", secret="corp-secret", agent_id=1000002):  # noqa: S107
        super().__init__()
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id

    def handle(self, method, path, query, body, headers):
        if method == "GET" and path == "/cgi-bin/gettoken":
            if query.get("corpid") != self.corp_id or query.get("corpsecret") != self.secret:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}, {}
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": self.issue(), "expires_in": 7200}, {}
        if method == "POST" and path == "/cgi-bin/message/send":
            error = self.token_error(query.get("access_token"))
            if error:
                return 200, error, {}
            if self.take_rate_limit():
                return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, {}
            if body.get("agentid") != self.agent_id:
                return 200, {"errcode": 301002, "errmsg": "not allow operate another agent with this accesstoken"}, {}
            kind = body.get("msgtype")
            if kind not in ("text", "textcard") or not body.get(kind):
                return 200, {"errcode": 40008, "errmsg": "invalid message type"}, {}
            recipients = body.get("touser", "").split("|")
            unknown = [r for r in recipients if r not in self.users]
            if len(unknown) == len(recipients):
                return 200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}, {}
            self.sent.append(body)
            return (
                200,
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "invaliduser": "|".join(unknown),
                    "invalidparty": "",
                    "invalidtag": "",
                    "unlicenseduser": "",
                    "msgid": f"msg-{len(self.sent)}",
                },
                {},
            )
        return 404, {"errcode": 404, "errmsg": "not found"}, {}


class DingTalkStub(TokenStub):
    def __init__(self, app_key="key", app_secret="app-secret", agent_id=2000001):  # noqa: S107
        super().__init__()
        self.app_key, self.app_secret, self.agent_id = app_key, app_secret, agent_id

    def handle(self, method, path, query, body, headers):
        if method == "GET" and path == "/gettoken":
            if query.get("appkey") != self.app_key or query.get("appsecret") != self.app_secret:
                return 200, {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}, {}
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": self.issue(), "expires_in": 7200}, {}
        if method == "POST" and path == "/topapi/message/corpconversation/asyncsend_v2":
            error = self.token_error(query.get("access_token"))
            if error:
                return 200, error, {}
            if self.take_rate_limit():
                return 200, {"errcode": 90018, "errmsg": "当前企业调用该接口的QPS超过限制"}, {}
            if body.get("agent_id") != self.agent_id:
                return 200, {"errcode": 40056, "errmsg": "不合法的agentid"}, {}
            msg = body.get("msg") or {}
            if msg.get("msgtype") not in ("text", "action_card", "link", "markdown") or not msg.get(msg["msgtype"]):
                return 200, {"errcode": 40035, "errmsg": "缺少参数 msg"}, {}
            self.sent.append(body)
            return (
                200,
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "task_id": 256271667526 + len(self.sent),
                    "request_id": f"req-{len(self.sent)}",
                },
                {},
            )
        return 404, {"errcode": 404, "errmsg": "not found"}, {}


class SmsStub(Stub):
    def __init__(self, api_key="sms-key"):
        super().__init__()
        self.api_key = api_key
        self.sent = []
        self.url = f"{self.base}/send"

    def handle(self, method, path, query, body, headers):
        if method != "POST" or path != "/send":
            return 404, {"error": "not found"}, {}
        if headers.get("X-API-Key") != self.api_key:
            return 401, {"error": "unauthorized"}, {}
        if self.take_rate_limit():
            return 429, {"error": "too many requests"}, {"Retry-After": "1"}
        phone = (body or {}).get("phone", "")
        if not (phone.isdigit() and len(phone) == 11) or not body.get("text"):
            return 400, {"error": "invalid phone"}, {}
        self.sent.append(body)
        return 200, {"id": f"sms-{len(self.sent)}"}, {}
