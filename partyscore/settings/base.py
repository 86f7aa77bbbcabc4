"""Settings shared by every environment; everything that differs comes from the environment.

The embedded default needs no services: SQLite, Celery tasks run eagerly, mail to the console.
Setting DATABASE_URL / REDIS_URL switches to PostgreSQL / Redis.
"""

import datetime
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "import_export",
    "django_htmx",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_cas_ng",  # its table maps CAS tickets to sessions, for single logout (unused while CAS is off)
    "rest_framework",
    "drf_spectacular",
    "partyscore.core",
    "members",
    "scoring",
    "reviews",
    "partyscore.dashboards",
    "partyscore.api",
    "partyscore.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "partyscore.core.middleware.PermissionsPolicyMiddleware",
    # Before the session and the user are read: a 503 page while the database is unreachable.
    "partyscore.core.unavailable.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "partyscore.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "partyscore.core.middleware.DeniedAccessLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "members.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "members.middleware.ForcePasswordChangeMiddleware",
    "members.middleware.TwoFactorRequiredMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during the request into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "partyscore.urls"
WSGI_APPLICATION = "partyscore.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "members.context_processors.roles",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "partyscore.core.sqlite"  # bulk writes batched to SQLite's real limit
    # Tests in memory, as Django does for SQLite; said outright, since pytest-django recognizes SQLite
    # by the stock engine's name and would give each test worker a file named after the database path.
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "members.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username + address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Campus single sign-on (members/campus_login.py): each answers only while configured below.
    "members.campus_login.CampusCASBackend",
    "members.campus_login.CampusOIDCBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "members.validators.PasswordComplexityValidator"},
    {"NAME": "members.validators.NotCurrentPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login lockout (django-axes): per username AND address together, so one campus NAT address
# shared by thousands is never locked for everyone by one person's typos.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=30))
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_CALLABLE = "members.auth_views.lockout_response"  # a Chinese page, HTTP 429
# Successes and failures are logged once, by the security log (partyscore), not again by axes.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no start-up banner on every manage.py command
AXES_CLIENT_IP_CALLABLE = "partyscore.core.client_ip.client_ip"
# Across usernames (members/address_throttle.py): past this many failed logins from one address
# within the window, that address's password checks are spaced by a doubling delay (1 s, 2 s, …, the
# maximum). Browsers that logged in before as the same username are never slowed (a NAT's own users).
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
LOGIN_ADDRESS_WINDOW = env.int("LOGIN_ADDRESS_WINDOW_SECONDS", default=15 * 60)
LOGIN_ADDRESS_MAX_DELAY = env.int("LOGIN_ADDRESS_MAX_DELAY_SECONDS", default=60)
# Behind a reverse proxy: how many trusted proxies append to X-Forwarded-For (0 = use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Sessions end after this much inactivity, and in any case this long after login.
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT  # one limit: the cookie lasts exactly as long as the session may

# Campus single sign-on (统一身份认证, docs/deployment.md), both off unless configured here. The person
# is matched to the existing account whose username is their staff/student number, taken from the CAS
# attribute / OIDC claim named below; no account is ever created by a campus login.
# CAS 2.0/3.0 (django-cas-ng): the server's root URL, e.g. https://cas.example.edu.cn/cas/.
CAS_SERVER_URL = env("CAS_SERVER_URL", default="")
CAS_VERSION = env("CAS_VERSION", default="3")
# The attribute holding the staff/student number; "" = the CAS user id itself is the number.
CAS_NUMBER_ATTRIBUTE = env("CAS_NUMBER_ATTRIBUTE", default="")
CAS_CREATE_USER = False
CAS_STORE_NEXT = False
CAS_CHECK_NEXT = True
CAS_LOGOUT_COMPLETELY = True  # the site's logout ends the CAS session too
CAS_VERIFY_SSL_CERTIFICATE = True
CAS_REDIRECT_URL = LOGIN_REDIRECT_URL
CAS_IGNORE_REFERER = True  # the service URL (with its next page) must be the same at login and at validation
CAS_LOGIN_MSG = None
CAS_LOGGED_MSG = None
# OpenID Connect (mozilla-django-oidc), authorization code flow with an RS256-signed ID token.
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_LOGOUT_ENDPOINT = env("OIDC_OP_LOGOUT_ENDPOINT", default="")  # end_session_endpoint; "" = none
OIDC_OP_ISSUER = env("OIDC_OP_ISSUER", default="")  # checked against the ID token's iss when set
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid profile")
OIDC_NUMBER_CLAIM = env("OIDC_NUMBER_CLAIM", default="sub")  # the claim holding the staff/student number
OIDC_CREATE_USER = False
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of the provider's logout
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "campus_oidc_callback"
# Whom a person with a campus identity but no account here is told to ask (shown on the refusal page).
CAMPUS_ACCOUNT_CONTACT = env("CAMPUS_ACCOUNT_CONTACT", default="所在党支部书记或党委组织部")

# Optional TOTP second factor for accounts holding these roles (and the system administrator);
# TWO_FACTOR_REQUIRED makes all of them enrol before using the site, TWO_FACTOR_REQUIRED_ROLES only
# the holders of the roles listed (the committee's choice per role; a required role is also offered).
TWO_FACTOR_ROLES = env.list(
    "TWO_FACTOR_ROLES", default=["org_department", "general_branch_secretary", "branch_secretary"]
)
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=False)
TWO_FACTOR_REQUIRED_ROLES = env.list("TWO_FACTOR_REQUIRED_ROLES", default=[])
OTP_TOTP_ISSUER = "PartyScore"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Chinese first: the msgids are Simplified Chinese, English comes from locale/en.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end packages come from node_modules (package.json + lock), never from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules/bootstrap/dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules/bootstrap-icons/font"),
    ("vendor/echarts", BASE_DIR / "node_modules/echarts/dist"),
    ("vendor/swagger-ui", BASE_DIR / "node_modules/swagger-ui-dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media/"
# Uploaded evidence is never served from MEDIA_URL: the permission-checked views of
# partyscore/core/evidence_files.py send it. In production they may hand the bytes to the web server
# after the check: "x-accel-redirect" (nginx: an `internal` location EVIDENCE_ACCEL_PREFIX aliased
# to MEDIA_ROOT) or "x-sendfile" (Apache mod_xsendfile); "" streams from Django (docs/deployment.md).
EVIDENCE_SENDFILE = env.str("EVIDENCE_SENDFILE", default="")
EVIDENCE_ACCEL_PREFIX = env.str("EVIDENCE_ACCEL_PREFIX", default="/protected-media/")

# Uploads: rosters and score cards are small spreadsheets.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=5 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=20000)

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: eager without Redis so the embedded default needs no broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# A task whose worker died unacknowledged is delivered again after this long (it must exceed the
# longest task, see CELERY_TASK_TIME_LIMIT); the broker looks for such tasks every
# interval × throttle seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 0,
    "visibility_timeout": env.int("BROKER_VISIBILITY_TIMEOUT", default=3600),
    "unacked_restore_interval": env.int("BROKER_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("BROKER_RESTORE_THROTTLE", default=10),
}
# The year's rhythm (reviews/rhythm.py): reminders this many days before each deadline, the
# daily run at this hour (Asia/Shanghai), periods locking this many days after they end.
REMINDER_LEAD_DAYS = tuple(env.list("REMINDER_LEAD_DAYS", cast=int, default=[7, 3, 1]))
REMINDER_HOUR = env.int("REMINDER_HOUR", default=7)
PERIOD_LOCK_GRACE_DAYS = env.int("PERIOD_LOCK_GRACE_DAYS", default=10)
# The year's recalculation replaces the stored totals of whole branches, about this many members at a
# time: one transaction, and one background task, per chunk (scoring/recalculation.py).
RECALCULATION_CHUNK_MEMBERS = env.int("RECALCULATION_CHUNK_MEMBERS", default=20000)
CELERY_TASK_PUBLISH_RETRY = False  # a request must never hang on an unreachable broker
CELERY_BEAT_SCHEDULE = {
    "daily-rhythm": {"task": "reviews.tasks.daily_rhythm_task", "schedule": crontab(hour=REMINDER_HOUR, minute=0)},
    "nightly-recalculation": {
        "task": "reviews.tasks.nightly_recalculation_task",
        "schedule": crontab(hour=2, minute=30),
    },
    "publicity-close": {"task": "reviews.tasks.publicity_close_task", "schedule": 15 * 60},
    "notification-deliveries-resume": {
        "task": "partyscore.core.tasks.notification_deliveries_resume_task",
        "schedule": 15 * 60,
    },
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="partyscore@localhost")

# Notices beyond the in-app list and e-mail (partyscore/core/channels.py, docs/deployment.md): each channel is
# on when its credentials are set; none is needed to run. The API bases are settable for a campus
# proxy (and for the tests' local stubs).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")  # links in messages are absolute
WECOM_CORP_ID = env("WECOM_CORP_ID", default="")
WECOM_AGENT_ID = env("WECOM_AGENT_ID", default="")
WECOM_SECRET = env("WECOM_SECRET", default="")
WECOM_API_BASE = env("WECOM_API_BASE", default="https://qyapi.weixin.qq.com")
DINGTALK_APP_KEY = env("DINGTALK_APP_KEY", default="")
DINGTALK_APP_SECRET = env("DINGTALK_APP_SECRET", default="")
DINGTALK_AGENT_ID = env("DINGTALK_AGENT_ID", default="")
DINGTALK_API_BASE = env("DINGTALK_API_BASE", default="https://oapi.dingtalk.com")
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_API_KEY = env("SMS_API_KEY", default="")
SMS_API_KEY_HEADER = env("SMS_API_KEY_HEADER", default="X-API-Key")
# Which channels each kind of notice may take, by its sentence (the msgid given to notify()), "*" for
# every other kind; in-app always. Empty: every kind may take every channel.
NOTIFY_CHANNELS_BY_KIND = env.json("NOTIFY_CHANNELS_BY_KIND", default={})
NOTIFY_MAX_RETRIES = env.int("NOTIFY_MAX_RETRIES", default=5)
NOTIFY_HTTP_TIMEOUT = env.int("NOTIFY_HTTP_TIMEOUT", default=10)

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Every script, style, font and image is served by us (static/, node_modules); nothing inline: the
# templates bind behaviour in static/js/page.js and style through classes (docs/security.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Bootstrap's CSS draws its form and navbar icons as data: SVG
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# The logout form's redirect to the campus server's logout page is a form action too (browsers check it).
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] += sorted(
    {f"{url.scheme}://{url.netloc}" for url in map(urlsplit, [CAS_SERVER_URL, OIDC_OP_LOGOUT_ENDPOINT]) if url.netloc}
)
# Browser features no page uses, switched off for any script that might get in.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)
# Security log (partyscore.core.models.AccessLog): logins, denials, imports and exports are kept this
# many days, then purged daily; partyscore/core/checks.py refuses less than 180.
SECURITY_LOG_RETENTION_DAYS = env.int("SECURITY_LOG_RETENTION_DAYS", default=365)
CELERY_BEAT_SCHEDULE["access-log-purge"] = {
    "task": "partyscore.core.tasks.access_log_purge",
    "schedule": crontab(hour=3, minute=15),
}

# The REST API (api, docs/api.md): per-user tokens (members.models.ApiToken) or the
# browser's session (with its CSRF check); every view checks scope through the same selectors and
# services as the pages. The documentation page's assets are local (vendor/swagger-ui).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partyscore.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["partyscore.api.renderers.SafeJSONRenderer"],
    # JSON, and form posts as a browser or a simple client sends them.
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "partyscore.api.pagination.Pagination",
    "EXCEPTION_HANDLER": "partyscore.api.views.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PartyScore API",
    "DESCRIPTION": "党员积分管理接口（/api/v1/）：本人积分卡与待办、支部名册、台账与总分，自评、异议、签到与记分。",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": "/static/vendor/swagger-ui/favicon-32x32.png",
    "COMPONENT_SPLIT_REQUEST": True,
    # Django's <int:…> matches digits only: a negative id never reaches a view.
    "PATH_CONVERTER_OVERRIDES": {"int": {"type": "integer", "minimum": 0}},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # django-axes narrates every attempt at INFO; failures and lockouts (WARNING) are enough.
    "loggers": {"axes": {"level": "WARNING"}},
}

# Translatable names reused by templates and forms.
SITE_NAME = _("党员积分管理")
# The university, as the login page names it; and whom a user without an e-mail asks for a new password
# (a name, office or telephone: shown on the forgotten-password page when set).
UNIVERSITY_NAME = env("UNIVERSITY_NAME", default="示范大学")
ACCOUNT_HELP_CONTACT = env("ACCOUNT_HELP_CONTACT", default="")

# Ledger exports and score imports (scoring/exports.py, scoring/card_import.py, partyscore/core/xlsx_safety.py).
# An export that would write more rows than this (ledger lines + members) runs as a background job.
EXPORT_ASYNC_THRESHOLD = env.int("EXPORT_ASYNC_THRESHOLD", default=20000)
# A background export's file is kept this long for its owner, then deleted.
EXPORT_KEEP_HOURS = env.int("EXPORT_KEEP_HOURS", default=24)
# A queued job no worker took up, or a running one with no progress, for this long has stopped:
# it is shown failed, and asking again builds it anew.
EXPORT_STALE_MINUTES = env.int("EXPORT_STALE_MINUTES", default=10)
# A college's or the university's ledger workbooks (a zip, one per branch) are built in parts of about
# this many members' branches: one Celery task each (shared by the workers), a fixed number of queries.
EXPORT_ZIP_PART_MEMBERS = env.int("EXPORT_ZIP_PART_MEMBERS", default=2000)
# Hostile uploads: refused before parsing when the zip directory promises more than this.
IMPORT_MAX_UNCOMPRESSED_BYTES = env.int("IMPORT_MAX_UNCOMPRESSED_BYTES", default=50 * 1024 * 1024)
IMPORT_MAX_COMPRESSION_RATIO = env.int("IMPORT_MAX_COMPRESSION_RATIO", default=100)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=60)
CARD_IMPORT_MAX_ROWS = env.int("CARD_IMPORT_MAX_ROWS", default=5000)
# An import checked but never confirmed leaves its file under MEDIA_ROOT/imports/: deleted hourly
# once this old (partyscore/core/pending_upload.py).
PENDING_UPLOAD_KEEP_HOURS = env.int("PENDING_UPLOAD_KEEP_HOURS", default=24)
CELERY_BEAT_SCHEDULE["pending-uploads-purge"] = {
    "task": "partyscore.core.tasks.pending_uploads_purge",
    "schedule": 60 * 60,
}
CELERY_BEAT_SCHEDULE["export-jobs-purge"] = {"task": "scoring.tasks.export_jobs_purge", "schedule": 60 * 60}
# Tamper evidence (docs/security.md): the hash chains and the stored figures are checked nightly; a
# break is notified to the organization department. Every five minutes the chains' heads are anchored
# in ChainAnchor; CHAIN_ANCHOR_FILE, a path off the database server, keeps the newest anchor between
# runs, which reveals rows cut off the end, tables emptied and history rewritten with new hashes;
# `verify_ledger` compares with it by default.
CHAIN_ANCHOR_FILE = env("CHAIN_ANCHOR_FILE", default=str(BASE_DIR / "chain-anchor.json"))
CELERY_BEAT_SCHEDULE["verify-chains"] = {
    "task": "scoring.tasks.verify_chains_task",
    "schedule": crontab(hour=3, minute=30),
}
CELERY_BEAT_SCHEDULE["anchor-chains"] = {
    "task": "scoring.tasks.anchor_chains_task",
    "schedule": crontab(minute="*/5"),
}
# PostgreSQL: this year's and next year's partitions of the ledger and the audit log, if missing
# (partyscore/core/partitions.py); opening a scoring year creates its own at once.
CELERY_BEAT_SCHEDULE["year-partitions"] = {
    "task": "scoring.tasks.year_partitions_task",
    "schedule": crontab(hour=3, minute=5),
}
