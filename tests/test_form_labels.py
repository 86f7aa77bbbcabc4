"""Every select, text box and check box on every page has a label a screen reader (and a user on a
phone who taps the words) can find: a <label for=…>, a wrapping <label>, aria-label or aria-labelledby.
Swept over every GET page of the authorization matrix, as the first role allowed there."""

from html.parser import HTMLParser

import pytest

from tests.security.test_hostile_input import allowed_get
from tests.test_authorization_matrix import MATRIX, build_matrix_world

UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.controls, self.label_for, self.label_depth = [], set(), 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("select", "textarea") or (tag == "input" and attrs.get("type", "text") not in UNLABELLED_TYPES):
            labelled = self.label_depth > 0 or attrs.get("aria-label") or attrs.get("aria-labelledby")
            self.controls.append((tag, attrs.get("name"), attrs.get("id"), bool(labelled)))

    def handle_endtag(self, tag):
        if tag == "label":
            self.label_depth = max(0, self.label_depth - 1)

    def unlabelled(self):
        return [
            (tag, name)
            for tag, name, id_, labelled in self.controls
            if not labelled and not (id_ and id_ in self.label_for)
        ]


@pytest.fixture
def world(db):
    return build_matrix_world()


def test_every_form_control_on_every_page_has_a_label(world, client):
    failures, pages, controls = [], 0, 0
    for name in MATRIX:
        found = allowed_get(world, name)
        if not found:
            continue
        role, url = found
        if world.users[role] is None:
            client.logout()
        else:
            client.force_login(world.users[role])
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        pages += 1
        parser = Controls()
        parser.feed(response.content.decode())
        controls += len(parser.controls)
        failures += [f"{name}: <{tag} name={field}>" for tag, field in parser.unlabelled()]
    assert pages > 50 and controls > 100, (pages, controls)
    assert not failures, "\n".join(sorted(set(failures)))
