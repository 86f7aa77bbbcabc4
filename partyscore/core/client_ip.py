"""The client's address, for the login lockout and the security log.

Behind a reverse proxy REMOTE_ADDR is the proxy itself. Each trusted proxy appends the address it
saw to X-Forwarded-For, so with N trusted proxies the client is the N-th entry from the right;
anything further left was written by the client and is not trusted.
"""

from django.conf import settings


def client_ip(request):
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
