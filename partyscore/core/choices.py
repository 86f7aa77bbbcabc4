"""A model field's choice labels, looked up without translating every choice on each look-up (as
Django's get_FOO_display does)."""

import functools

from django.utils.translation import get_language


@functools.cache
def _labels(model, field_name, language):
    return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}


def choice_labels(model, field_name):
    """{value: label} of the choices of `model`'s field in the active language."""
    return _labels(model, field_name, get_language())
