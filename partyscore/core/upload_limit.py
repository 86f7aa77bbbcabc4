"""An upload handler that stops at the import limit while the body arrives (both imports use it).

Django's own handlers write a large upload to /tmp in full before any view can refuse it (a 150 MB
roster was). `LimitedUpload`, put first in `request.upload_handlers` before the body is read (so
before CSRF reads the form), stops storing the file at the limit; the view then answers 413.
"""

from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class LimitedUpload(FileUploadHandler):
    """Stops storing an upload as soon as it passes `limit` bytes (the rest is read and dropped)."""

    def __init__(self, request, limit):
        super().__init__(request)
        self.limit, self.too_large = limit, False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + 64 * 1024:  # the form's own fields are small
            self.too_large = True

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if self.too_large:
            raise SkipFile()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.too_large = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None


def limit_upload(request, limit):
    """Put the limiter first; returns it (its `too_large` tells the view to answer 413)."""
    limiter = LimitedUpload(request, limit)
    request.upload_handlers.insert(0, limiter)
    return limiter
