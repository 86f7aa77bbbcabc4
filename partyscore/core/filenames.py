"""File names that come from data (an organization's or a member's name) made safe to send and store.

A name may hold any character: the path separators and Windows' reserved characters, control
characters (which would end up raw in a Content-Disposition header), lone surrogates (which cannot
be encoded at all), or be long enough that the name of the kept file passes the file system's
255 bytes. `safe_filename` replaces the first three with "_" and cuts the name at 80 characters
(240 bytes of UTF-8 at most); `attachment` sends a download under such a name, RFC 6266-encoded.
"""

import re

from django.utils.http import content_disposition_header

UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f\ud800-\udfff]+')
MAX_CHARS = 80


def safe_filename(text):
    """A file name (without its extension) for any text."""
    name = UNSAFE.sub("_", str(text)).strip()[:MAX_CHARS].strip(" .")
    return name or "export"


def download_name(filename):
    """`filename` made safe, its extension kept."""
    stem, dot, extension = str(filename).rpartition(".")
    return f"{safe_filename(stem)}.{safe_filename(extension)}" if dot and stem else safe_filename(filename)


def attachment(response, filename):
    """Send `response` as a download named `filename`."""
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=download_name(filename))
    return response
