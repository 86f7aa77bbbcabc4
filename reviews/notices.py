"""A notice (通知) is kept as its sentence's template and parameters, so that each reader reads it in
their own language, whoever caused it and in whatever language they worked.

`reviews.services.notify(users, template, url, params)` takes the template as a msgid (marked with
`gettext_noop`) and stores, beside it, the Chinese text (for the e-mail, and as written if the
template cannot be rendered). A parameter is one of:

- a lazy translation (`gettext_lazy`, a TextChoices label): translated when shown;
- a Period: its name in the reader's language (`Period.label`);
- a `Sentence(template, params)`, or a list of them (joined by "；"): a sentence inside the sentence;
- anything else (a name, a date, a number, a reason someone typed): shown as written.
"""

import datetime
from typing import NamedTuple

from django.utils.functional import Promise
from django.utils.translation import gettext, override

SOURCE_LANGUAGE = "zh-hans"
JOIN = "；"


class Sentence(NamedTuple):
    template: str
    params: dict


def encode(params):
    """`params` as JSON that keeps what each value is (see the module's docstring)."""
    from scoring.models import Period

    def one(value):
        if isinstance(value, Promise):
            with override(SOURCE_LANGUAGE):
                return {"text": str(value)}
        if isinstance(value, Period):
            return {"period": [value.kind, value.index, value.starts_on.isoformat()]}
        if isinstance(value, Sentence):
            return {"sentence": [value.template, encode(value.params)]}
        if isinstance(value, list):
            return {"sentences": [one(v) for v in value]}
        return str(value)

    return {key: one(value) for key, value in (params or {}).items()}


def render(template, params):
    """The sentence in the active language, from `template` and encoded `params`."""
    from scoring.models import Period

    def one(value):
        if isinstance(value, str):
            return value
        if "text" in value:
            return gettext(value["text"])
        if "period" in value:
            kind, index, starts_on = value["period"]
            return Period(kind=kind, index=index, starts_on=datetime.date.fromisoformat(starts_on)).label
        if "sentence" in value:
            return render(*value["sentence"])
        return JOIN.join(one(v) for v in value["sentences"])

    return gettext(template) % {key: one(value) for key, value in params.items()}


def source_text(template, params):
    """The sentence in Chinese, as stored and e-mailed."""
    with override(SOURCE_LANGUAGE):
        return render(template, params)
