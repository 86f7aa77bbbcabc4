"""The test suite: fast hashing, plain static storage, in-memory mail."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run in the test process; tests of the real broker and worker (tests/services/) switch
# the Celery app to Redis themselves.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# Each test process (xdist worker) has a queue of its own on the shared Redis, and the Celery workers
# tests/services start inherit it: one test's worker never takes the tasks of a test beside it.
CELERY_TASK_DEFAULT_QUEUE = f"tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
ALLOWED_HOSTS = ["*"]
# Serve static files from the finders (node_modules, static/) without a collectstatic run.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# No anchor file shared between tests (each test database has its own chains): a test that checks
# the anchor sets its own path.
CHAIN_ANCHOR_FILE = ""
