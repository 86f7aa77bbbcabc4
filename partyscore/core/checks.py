from django.conf import settings
from django.core.checks import Error, register

# The floor: login, denial, import and export records must be kept at least this long.
MIN_SECURITY_LOG_RETENTION_DAYS = 180


@register()
def security_log_retention(app_configs, **kwargs):
    days = settings.SECURITY_LOG_RETENTION_DAYS
    if days < MIN_SECURITY_LOG_RETENTION_DAYS:
        return [
            Error(
                f"SECURITY_LOG_RETENTION_DAYS is {days}; the security log must be kept at least "
                f"{MIN_SECURITY_LOG_RETENTION_DAYS} days.",
                hint="Raise SECURITY_LOG_RETENTION_DAYS in the environment.",
                id="partyscore.E001",
            )
        ]
    return []


EVIDENCE_SENDFILE_MODES = ("", "x-accel-redirect", "x-sendfile")


@register()
def evidence_sendfile(app_configs, **kwargs):
    mode = settings.EVIDENCE_SENDFILE
    if mode not in EVIDENCE_SENDFILE_MODES:
        return [
            Error(
                f"EVIDENCE_SENDFILE is {mode!r}; it must be empty, 'x-accel-redirect' or 'x-sendfile'.",
                hint="Fix EVIDENCE_SENDFILE in the environment (docs/deployment.md).",
                id="partyscore.E002",
            )
        ]
    return []
