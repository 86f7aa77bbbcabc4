"""A checked upload waiting for its confirmation (the imports' two steps: check, then write).

Step 1 keeps the file's bytes under a random token, recorded in the uploader's session; step 2
takes them back only with that token, once: the session entry and the file are gone afterwards,
whatever step 2 then does.
"""

import uuid
from pathlib import Path

from django.conf import settings


def _path(key, token):
    return Path(settings.MEDIA_ROOT) / "imports" / f"{key}-{token}.xlsx"


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
