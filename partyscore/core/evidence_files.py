"""Serving an uploaded file (佐证材料) to someone the record's own page has already let in.

The callers (scoring.views.evidence_entry, reviews.views.evidence_declaration / evidence_self_claim)
decide who may see the record; this module only builds the answer:

- the type comes from the stored name's extension; only images and PDF open in the browser
  (inline), anything else (an HTML or SVG file that slipped in under an image's declared type, a
  Word file) is sent as a download of type application/octet-stream, so it never renders here;
- `Content-Disposition` carries the original name as an RFC 5987 `filename*` (Chinese names
  survive), made safe by `partyscore.core.filenames.download_name`;
- `X-Content-Type-Options: nosniff` on every answer and a sandboxing Content-Security-Policy on all
  but PDF (which keeps the site's own policy: Chrome will not show a PDF under `sandbox`);
- `private, no-store`: a shared cache must not keep a member's evidence;
- in production EVIDENCE_SENDFILE hands the bytes to the web server (`x-accel-redirect` for nginx
  under EVIDENCE_ACCEL_PREFIX, `x-sendfile` for Apache mod_xsendfile) after the check here.
"""

import mimetypes
import posixpath
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header

from .filenames import download_name

# Shown in the browser (previews, PDF viewer); everything else is a download.
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
DOWNLOAD_TYPE = "application/octet-stream"


def file_type(name):
    """(Content-Type, inline?) for a stored file's name."""
    guessed, _encoding = mimetypes.guess_type(name or "", strict=False)
    if guessed in INLINE_TYPES:
        return guessed, True
    return DOWNLOAD_TYPE, False


def is_image(name):
    return file_type(name)[0] in IMAGE_TYPES


def evidence_response(field_file, *, name="", download=False):
    """The answer for one stored file (a FieldFile); 404 if the file is gone from storage."""
    if not field_file:
        raise Http404
    filename = download_name(name or posixpath.basename(field_file.name))
    content_type, inline = file_type(field_file.name)
    as_attachment = download or not inline
    mode = settings.EVIDENCE_SENDFILE
    if mode == "x-accel-redirect":
        response = HttpResponse(content_type=content_type)
        prefix = settings.EVIDENCE_ACCEL_PREFIX.rstrip("/")
        response["X-Accel-Redirect"] = f"{prefix}/{quote(field_file.name)}"
    elif mode == "x-sendfile":
        response = HttpResponse(content_type=content_type)
        # Percent-encoded (a header is ASCII); mod_xsendfile decodes it (XSendFileUnescape, on by default).
        response["X-Sendfile"] = quote(field_file.path)
    else:
        try:
            handle = field_file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    response["X-Content-Type-Options"] = "nosniff"
    if content_type != "application/pdf":  # Chrome refuses to show a PDF under `sandbox`
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
