"""A checked upload waiting for its confirmation (the imports' two steps: check, then write).

Step 1 keeps the file's bytes under a random token, recorded in the uploader's session; step 2
takes them back only with that token, once: the session entry and the file are gone afterwards,
whatever step 2 then does. A file whose confirmation never comes (the tab closed, the session
expired) is deleted by `pending_uploads_purge` once it is PENDING_UPLOAD_KEEP_HOURS old (hourly,
Celery beat).
"""

import logging
import time
import uuid
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)


def _folder():
    return Path(settings.MEDIA_ROOT) / "imports"


def _path(key, token):
    return _folder() / f"{key}-{token}.xlsx"


def pending_upload_keep(request, key, data, **extra):
    """Keep `data` for this session under `key`; returns the token the confirmation form sends back."""
    token = uuid.uuid4().hex
    path = _path(key, token)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    request.session[key] = {"token": token, **extra}
    return token


def pending_upload_take(request, key):
    """(bytes, extra) kept under `key` if the posted token matches, else None (expired, replayed, forged)."""
    pending = request.session.pop(key, None)
    if not pending or pending["token"] != request.POST.get("token"):
        return None
    path = _path(key, pending.pop("token"))
    try:
        return path.read_bytes(), pending
    except FileNotFoundError:
        return None
    finally:
        path.unlink(missing_ok=True)


def pending_uploads_purge(*, now=None):
    """Delete checked uploads never confirmed within PENDING_UPLOAD_KEEP_HOURS; returns how many.

    Each deletion is logged (the file's name carries the import and the token, never its content)."""
    cutoff = (now if now is not None else time.time()) - settings.PENDING_UPLOAD_KEEP_HOURS * 3600
    folder = _folder()
    if not folder.is_dir():
        return 0
    deleted = 0
    for path in folder.glob("*.xlsx"):
        try:
            if path.stat().st_mtime >= cutoff:
                continue
            path.unlink()
        except FileNotFoundError:  # confirmed (or purged by another run) meanwhile
            continue
        deleted += 1
        log.info(
            "pending upload %s purged: checked but not confirmed within %s hours",
            path.name,
            settings.PENDING_UPLOAD_KEEP_HOURS,
        )
    return deleted
