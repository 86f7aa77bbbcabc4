"""List pages read their filters through one form each: a malformed value is named, never a 500.

`list_filters(FormClass)` decorates a list view: the query string is read by the form, and a value
the form refuses (`?member=abc`, `?period=1e9`, an unknown kind) answers 400 with a Chinese page
naming each field and what is wrong with it, and a link to the page without filters. The view gets
the cleaned values as `filters`. The decorator leaves `filter_form` on the view, so the hostile-input
sweep (tests/security/test_hostile_input.py) finds every list page and every one of its parameters.
"""

from functools import wraps

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from .forms import BootstrapForm

# The largest id any table has room for: a larger one is malformed, not merely absent.
MAX_ID = 2**31 - 1


def IdField(label):
    return forms.IntegerField(label=label, required=False, min_value=1, max_value=MAX_ID)


def YearField():
    return forms.IntegerField(label=_("年度"), required=False, min_value=2000, max_value=2100)


class FilterForm(BootstrapForm):
    """Every filter is optional. Parameters it has no field for are not read by the view (`page` is
    the paginator's, which takes anything)."""


def list_filters(form_class):
    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            form = form_class(request.GET)
            if not form.is_valid():
                return render(request, "filter_error.html", {"form": form, "back": request.path}, status=400)
            return view(request, *args, filters=form.cleaned_data, **kwargs)

        wrapped.filter_form = form_class
        return wrapped

    return decorate
