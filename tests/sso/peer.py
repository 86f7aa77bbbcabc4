"""A campus identity peer for tests/sso, run as its own process: a throwaway Django project that is
either a CAS server (django-cas-server) or an OpenID Connect provider (django-oauth-toolkit).

    python tests/sso/peer.py cas|oidc WORKDIR SITE_URL

It migrates a fresh SQLite database in WORKDIR, creates the campus people the tests log in as, binds
127.0.0.1 on a free port and prints {"url": ...} as its first line of output, then serves until killed.
The OIDC provider signs ID tokens with an RS256 key generated here, and writes the client's id and
secret into that line too.
"""

import json
import secrets
import socketserver
import sys
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import django
from django.conf import settings

# The campus people: (login name at the university, staff/student number, password).
# zhangsan is the plain member of branch A1 in tests/builders.py; nobody has no account at the site.
PEOPLE = [("zhangsan", "A1-00004", "campus-pass-1"), ("nobody", "X9999", "campus-pass-2")]
CLIENT_ID = "partyscore"
# The site under test: pytest-django's live server, and the test client's http://testserver.
TEST_CLIENT_SITE = "http://testserver"


class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def configure(kind, workdir):
    apps = [
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
    ]
    extra = {}
    if kind == "cas":
        apps.append("cas_server")
        extra = {
            "CAS_NEW_VERSION_HTML_WARNING": False,
            "CAS_SHOW_POWERED": False,
            "CAS_REDIRECT_TO_LOGIN_AFTER_LOGOUT": False,
        }
    else:
        from jwcrypto import jwk

        apps.append("oauth2_provider")
        extra = {
            "OAUTH2_PROVIDER": {
                "OIDC_ENABLED": True,
                "OIDC_RSA_PRIVATE_KEY": jwk.JWK.generate(kty="RSA", size=2048)
                .export_to_pem(private_key=True, password=None)
                .decode(),
                "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
                "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
                "OAUTH2_VALIDATOR_CLASS": "peer_oidc.Validator",
                "SCOPES": {"openid": "OpenID Connect", "profile": "profile"},
                "PKCE_REQUIRED": False,
            },
            "LOGIN_URL": "/login/",
        }
    settings.configure(
        DEBUG=False,
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        INSTALLED_APPS=apps,
        ROOT_URLCONF=f"peer_{kind}",
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "DIRS": [Path(__file__).resolve().parent / "templates"],
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(Path(workdir) / f"{kind}.db")}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        STATIC_URL="/static/",
        USE_TZ=True,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        LANGUAGE_CODE="en",
        # Cookies do not tell ports apart: the peers' must not overwrite the site's in the test browser.
        SESSION_COOKIE_NAME=f"{kind}_sessionid",
        CSRF_COOKIE_NAME=f"{kind}_csrftoken",
        **extra,
    )


def populate(kind, site):
    from django.contrib.auth.models import User

    for login, number, password in PEOPLE:
        # The number lives in last_name: released as the attribute/claim the site is told to read.
        User.objects.create_user(login, password=password, last_name=number)
    if kind == "cas":
        from cas_server.models import ReplaceAttributName, ServicePattern

        pattern = ServicePattern.objects.create(
            pos=1,
            name="partyscore",
            pattern=r"^http://(127\.0\.0\.1|localhost|testserver)(:\d+)?/.*",
            single_log_out=True,
        )
        ReplaceAttributName.objects.create(name="last_name", replace="employeeNumber", service_pattern=pattern)
        return {}
    from oauth2_provider.models import Application

    secret = secrets.token_urlsafe(24)
    Application.objects.create(
        name="partyscore",
        client_id=CLIENT_ID,
        client_secret=secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        algorithm=Application.RS256_ALGORITHM,
        redirect_uris=" ".join(f"{s}/accounts/campus/oidc/callback/" for s in (site, TEST_CLIENT_SITE)),
        skip_authorization=True,
        post_logout_redirect_uris=" ".join(f"{s}/accounts/login/" for s in (site, TEST_CLIENT_SITE)),
    )
    return {"client_id": CLIENT_ID, "client_secret": secret}


def main():
    kind, workdir, site = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    configure(kind, workdir)
    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0, interactive=False)
    facts = populate(kind, site)
    server = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=Server, handler_class=QuietHandler)
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_port}", **facts}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
