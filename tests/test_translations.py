"""English is complete: every string marked for translation has an English text in locale/en.

The msgids are Chinese (the source language); a string added without its English would show
Chinese in the English UI. Django's own extractor runs over a copy of the sources, so the
project's catalogue is never rewritten by the test.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    "manage.py",
    "partyscore",
    "members",
    "scoring",
    "reviews",
    "templates",
    "static/js",
    "locale",
]


def test_every_marked_string_has_an_english_translation(tmp_path):
    if shutil.which("xgettext") is None:
        pytest.skip("makemessages needs GNU gettext (Debian: gettext)")
    for name in SOURCES:
        source, copy = ROOT / name, tmp_path / name
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, copy)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "en", "--no-obsolete", "-v0"],
        cwd=tmp_path,
        check=True,
        env={"SECRET_KEY": "x", "PATH": "/usr/bin:/bin"},
    )
    with open(tmp_path / "locale/en/LC_MESSAGES/django.po", "rb") as po:
        catalogue = read_po(po)
    untranslated = [m.id for m in catalogue if m.id and (m.fuzzy or not m.string)]
    assert len(catalogue) > 1000
    assert untranslated == [], f"{len(untranslated)} strings without English: {untranslated[:10]}"
