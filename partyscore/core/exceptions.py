"""The one application error type: services raise it with a Chinese message, views show it.

Permission failures use Django's own PermissionDenied, which every view turns into a 403.
"""


class ApplicationError(Exception):
    def __init__(self, message, extra=None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
