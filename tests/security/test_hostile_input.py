"""Hostile query strings on every page, swept automatically: never a 500.

Every URL pattern of the authorization matrix is asked with GET, as a role allowed there, with
a query string that gives every parameter any list page reads (the fields of every `filter_form`,
see partyscore/core/filters.py) a malformed value. Pages with a filter form must refuse with the
Chinese 400 page naming the field; every other page must ignore what it does not read. A list
view that reads `request.GET` without a filter form fails the test that scans the views' source.
"""

import inspect
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.matrix.world import build_matrix_world
from tests.test_authorization_matrix import MATRIX, url_for

# Views whose query string fills a form (validated like a POST), not a list's filters.
PREFILLS = {
    "entry_record": "the member chosen in the entry form",
    "objection_new": "the objection form's fields",
    "my_pledges": "the draft pledge chosen for editing",
}
MALFORMED = ["abc", "-1", "0", "1e9", str(2**70), "1.5", "１２", "' OR 1=1 --", "<b>x</b>", "\x00", "%", "x" * 300]


def views():
    """(URL name, view function) for every named pattern outside the admin."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace != "admin":
                    walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                found.append((pattern.name, pattern.callback))

    walk(get_resolver().url_patterns)
    return found


def filter_forms():
    return {name: view.filter_form for name, view in views() if getattr(view, "filter_form", None)}


def parameter_names():
    return sorted({field for form in filter_forms().values() for field in form.base_fields})


def test_every_view_that_reads_filters_reads_them_through_a_filter_form():
    """A view reading request.GET for anything but the page, `print`, `next` or htmx's redirect
    must do it through `list_filters` (then the sweep below tries its every parameter)."""
    readers = []
    for name, view in views():
        source = inspect.getsource(inspect.unwrap(view))
        read = set(re.findall(r"request\.GET\.get\(\"(\w+)\"", source)) - {"page", "next"}
        # The whole query handed to something (a form, a copy); a flag's presence (`"download" in
        # request.GET`) reads no value.
        read |= {"(whole query)"} if re.search(r"\(request\.GET[,)]", source) else set()
        if read and not getattr(view, "filter_form", None) and name not in PREFILLS:
            readers.append((name, sorted(read)))
    assert not readers, f"views reading the query string without a filter form: {readers}"
    assert {"ledger", "member_list", "audit_list", "access_log", "dashboard_drill"} <= set(filter_forms())


@pytest.fixture
def world(db):
    return build_matrix_world()


def allowed_get(world, name):
    """(role, URL) of the first GET the matrix allows at `name`, or None."""
    for check in MATRIX[name]:
        if check.method == "GET" and check.allowed:
            target = world.targets[check.target] if check.target else None
            roles = sorted(check.allowed - {"anonymous"}) or ["anonymous"]
            return roles[0], url_for(name, target, check.kwargs, world)
    return None


def test_malformed_filters_on_every_list_page_are_named_in_a_chinese_400(world, client):
    failures, tried = [], 0
    for name, form in filter_forms().items():
        role, url = allowed_get(world, name)
        client.force_login(world.users[role])
        for field in form.base_fields:
            for value in MALFORMED:
                response = client.get(url, {field: value, "metric": "scored"} if field != "metric" else {field: value})
                tried += 1
                body = response.content.decode(errors="ignore")
                if response.status_code == 400:
                    if "请求无效" not in body or f'data-field="{field}"' not in body:
                        failures.append(f"{name} {field}={value!r}: 400 without naming the field")
                elif response.status_code not in (200, 403):
                    failures.append(f"{name} {field}={value!r}: {response.status_code}")
    assert tried > 300
    assert not failures, "\n".join(failures)


def prefill_names():
    """The query-string names the PREFILLS views read (the objection form takes any of its targets)."""
    from reviews.views import OBJECTION_TARGETS

    found = set(OBJECTION_TARGETS)
    for name, view in views():
        if name in PREFILLS:
            found |= set(re.findall(r"request\.GET\.get\(\"(\w+)\"", inspect.getsource(inspect.unwrap(view))))
    return sorted(found - {"page", "next"})


def test_no_page_answers_500_to_a_hostile_query_string(world, client):
    """Every GET page, with every known filter and prefill parameter set to each malformed value at once."""
    names = [name for name in MATRIX if allowed_get(world, name)]
    params = [*parameter_names(), *prefill_names()]
    assert {"edit", "member", "entry"} <= set(params)
    failures = []
    for name in names:
        role, url = allowed_get(world, name)
        if world.users[role] is None:
            client.logout()
        else:
            client.force_login(world.users[role])
        for value in MALFORMED[:6]:
            response = client.get(url, dict.fromkeys(params, value))
            if response.status_code >= 500:
                failures.append(f"{name} as {role} with {value!r}: {response.status_code}")
    assert len(names) > 40
    assert not failures, "\n".join(failures)


ODD_NAMES = [
    "'",
    'a/b\\c:d*e?f"g<h>i|j[k]',
    "x\x01\x1f\x7fy",
    "😀" * 40,
    "History",
    "'" + "长" * 40 + "'",
    "名.",
    "..",
    '= HYPERLINK("http://x")',
    "%0d%0aSet-Cookie: x=1",
    "\u202etxt.exe",
]


def poison_names():
    """Every organization's and member's name becomes one of ODD_NAMES (made unique where it must be)."""
    from members.models import Member, Organization

    for n, org in enumerate(Organization.objects.order_by("pk")):
        Organization.objects.filter(pk=org.pk).update(name=f"{ODD_NAMES[n % len(ODD_NAMES)]}{n}")
    for n, member in enumerate(Member.objects.order_by("pk")):
        Member.objects.filter(pk=member.pk).update(name=ODD_NAMES[n % len(ODD_NAMES)])


def downloads(world):
    """(label, role, method, URL, data) of every download: every export kind of every organization
    target, every member export, and every GET page of the matrix (those that answer a file count)."""
    from scoring.exports import WRITERS

    year = world.targets["period"].cycle.year
    for name in MATRIX:
        found = allowed_get(world, name)
        if found and found[0] != "anonymous":
            yield name, found[0], "GET", found[1], {}
    for target in ("own_branch", "own_college"):
        for kind in WRITERS:
            yield (
                f"export_org {kind} {target}",
                "org_department",
                "POST",
                url_for("export_org", world.targets[target]),
                {"kind": kind, "year": year},
            )
    for member in world.a1_members:
        yield "export_member", "org_department", "POST", url_for("export_member", member), {"year": year}


def test_odd_names_make_valid_file_sheet_and_header_names(world, client):
    import io
    import zipfile

    import openpyxl

    from partyscore.core.filenames import UNSAFE

    poison_names()
    failures, files = [], 0
    for label, role, method, url, data in downloads(world):
        client.force_login(world.users[role])
        response = getattr(client, method.lower())(url, data)
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code}")
            continue
        header = response.get("Content-Disposition")
        if not header:
            continue
        files += 1
        if not header.isascii() or not header.isprintable():
            failures.append(f"{label}: header not plain ASCII: {header!r}")
        match = re.fullmatch(
            r"(?:attachment|inline); filename(?:=\"([^\"\\\\/]+)\"|\*=utf-8''([A-Za-z0-9%._~!$&'()*+,;=:@-]+))",
            header,
            re.IGNORECASE,
        )
        if not match:
            failures.append(f"{label}: malformed header {header!r}")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        workbooks = []
        if header.lower().endswith(".zip"):  # a college's ledger workbooks, one per branch
            archive = zipfile.ZipFile(io.BytesIO(body))
            for entry in archive.infolist():
                parts = entry.filename.split("/")
                if any(not part or UNSAFE.search(part) or part.strip(" .") != part for part in parts):
                    failures.append(f"{label}: zip entry name {entry.filename!r}")
                workbooks.append((f"{label} {entry.filename}", archive.read(entry)))
        elif header.lower().endswith((".xlsx", '.xlsx"')) or b"xlsx" in header.encode():
            workbooks.append((label, body))
        for where, content in workbooks:
            try:
                book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
            except Exception as error:
                failures.append(f"{where}: workbook does not open: {error}")
                continue
            for sheet in book.sheetnames:
                if (
                    not (0 < len(sheet.encode("utf-16-le")) // 2 <= 31)
                    or sheet.startswith("'")
                    or sheet.endswith("'")
                    or set(sheet) & set("[]:*?/\\")
                    or not sheet.isprintable()
                ):
                    failures.append(f"{where}: sheet name {sheet!r}")
    assert files >= 15, files
    assert not failures, "\n".join(failures)
