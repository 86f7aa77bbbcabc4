"""Small helpers the views share."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from .exceptions import ApplicationError


def posted_object_or_404(model, pk, **scope):
    """get_object_or_404 for an id that came in a form or a query string: what is not a number is not
    found (a forged "abc" must not become a 500), and `scope` keeps out the objects of anyone else."""
    try:
        return get_object_or_404(model, pk=int(pk), **scope)
    except (TypeError, ValueError):
        raise Http404 from None


def posted_int(raw, default):
    """A whole number typed into a form field that has no Django form of its own: what is not a
    number is the user's mistake, answered with a Chinese message (an ApplicationError), not a 500."""
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApplicationError(_("“%(value)s”不是整数") % {"value": raw[:20]}) from None
