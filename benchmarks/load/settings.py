"""Production settings, served over plain HTTP on the loopback for the load test.

In production a TLS proxy sits in front (SECURE_PROXY_SSL_HEADER); the load test talks to
gunicorn directly, so the HTTPS-only parts are off: otherwise the client would be redirected to
https:// and would never send back the Secure session and CSRF cookies. Everything else — DEBUG
off, WhiteNoise's compressed manifest, every middleware — is production's.
"""

from partyscore.settings.production import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

# The simulated browsers fetch no static files (a real one caches them for a year: hashed names),
# so collect them uncompressed into a directory of our own: WhiteNoise's compression of every
# asset takes minutes and is irrelevant here. {% static %} still resolves through the manifest.
STATIC_ROOT = BASE_DIR / "benchmarks" / "out" / "load" / "static"  # noqa: F405
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}  # noqa: F405

# The product's URLs plus the benchmark's trivial view (benchmarks/load/urls.py).
ROOT_URLCONF = "benchmarks.load.urls"
