"""What each role must never receive, whatever the page or file: the other branch's and the other
college's members and organizations (canaries), looked for in HTML, in every cell of a workbook and
in JSON; and where the matrix's figures are kept."""

import io
import json
from pathlib import Path

import openpyxl

from .common import ROLES

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _people_and_places(members, *organizations):
    return (*(m.name for m in members), *(m.number for m in members), *(o.name for o in organizations))


def canaries(world):
    """role → texts outside that role's scope. Everyone below the organization department works in A1
    (or, as a plain member, sees A1's publicity); the general-branch secretary sees all of college A."""
    other_college = _people_and_places(world.b1_members, world.B, world.B1)
    other_branch = _people_and_places(world.a2_members, world.A2)
    found = dict.fromkeys(ROLES, other_branch + other_college)
    found["gb_secretary"] = other_college
    found["org_department"] = ()
    return found


def body_text(response):
    """Everything a response hands over, as text: a page, a workbook's cells and sheet names, or JSON."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if not content:  # HEAD, a redirect
        return ""
    if kind.startswith(XLSX_TYPE):
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        cells = [
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        ]
        return "\n".join([*book.sheetnames, *cells])
    if kind.startswith("application/json"):
        return json.dumps(json.loads(content), ensure_ascii=False)
    return content.decode(errors="ignore")


def leaked(response, texts):
    """The out-of-scope texts the response contains."""
    body = body_text(response)
    return [text for text in texts if text in body]


def report(name, **figures):
    """Keep a run's figures as a test artefact (docs/security.md quotes them) and print them."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"access-{name}.json").write_text(json.dumps(figures, indent=1))
    print(f"{name}: " + ", ".join(f"{key}={value}" for key, value in figures.items()))
