"""A notice (通知) is kept as its sentence's template and parameters, so that each reader reads it in
their own language, whoever caused it and in whatever language they worked.

`partyscore.core.notifications.notify(users, template, url, params)` takes the template as a msgid
(marked with `gettext_noop`) and stores, beside it, the Chinese text (for the e-mail, and as written if the
template cannot be rendered). A parameter is one of:

- a lazy translation (`gettext_lazy`, a TextChoices label): translated when shown;
- a value of a kind an app registered (`register_param_kind`; scoring registers its Period): its
  name in the reader's language;
- a `Sentence(template, params)`, or a list of them (joined by "；"): a sentence inside the sentence;
- anything else (a name, a date, a number, a reason someone typed): shown as written.
"""

from typing import NamedTuple

from django.utils.functional import Promise
from django.utils.translation import gettext, override

SOURCE_LANGUAGE = "zh-hans"
JOIN = "；"


class Sentence(NamedTuple):
    template: str
    params: dict


class ParamKind(NamedTuple):
    type: type
    encode: object  # value → JSON
    name: object  # JSON → the value's name in the active language


PARAM_KINDS: dict[str, ParamKind] = {}


def register_param_kind(key, kind):
    """Let `kind.type` values be notice parameters, kept as `{key: kind.encode(value)}` (from an
    AppConfig.ready: this module imports no app)."""
    PARAM_KINDS[key] = kind


def encode(params):
    """`params` as JSON that keeps what each value is (see the module's docstring)."""

    def one(value):
        if isinstance(value, Promise):
            with override(SOURCE_LANGUAGE):
                return {"text": str(value)}
        for key, kind in PARAM_KINDS.items():
            if isinstance(value, kind.type):
                return {key: kind.encode(value)}
        if isinstance(value, Sentence):
            return {"sentence": [value.template, encode(value.params)]}
        if isinstance(value, list):
            return {"sentences": [one(v) for v in value]}
        return str(value)

    return {key: one(value) for key, value in (params or {}).items()}


def render(template, params):
    """The sentence in the active language, from `template` and encoded `params`."""

    def one(value):
        if isinstance(value, str):
            return value
        if "text" in value:
            return gettext(value["text"])
        for key, kind in PARAM_KINDS.items():
            if key in value:
                return kind.name(value[key])
        if "sentence" in value:
            return render(*value["sentence"])
        return JOIN.join(one(v) for v in value["sentences"])

    return gettext(template) % {key: one(value) for key, value in params.items()}


def source_text(template, params):
    """The sentence in Chinese, as stored and e-mailed."""
    with override(SOURCE_LANGUAGE):
        return render(template, params)
