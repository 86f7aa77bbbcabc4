"""Write an example of every export and of the import template (docs/examples/), from the data at hand.

Run against the demo university: `manage.py seed_demo && manage.py io_examples --output docs/examples`.
"""

from pathlib import Path

from django.core.management.base import BaseCommand

from members.models import Organization, User
from scoring import card_import, exports
from scoring.selectors import current_cycle

EXAMPLES = {
    "branch_workbook": "branch-workbook.xlsx",
    "flat_ledger": "flat-ledger.xlsx",
    "committee": "committee.xlsx",
    "publicity": "publicity-list.xlsx",
    "evaluation": "evaluation-results.xlsx",
    "board": "points-board.xlsx",
}


class Command(BaseCommand):
    help = "Write example export files and the score-card import template into a directory."

    def add_arguments(self, parser):
        parser.add_argument("--output", default="docs/examples")
        parser.add_argument("--branch", default="LAW-01", help="the branch code the branch examples show")

    def handle(self, *args, output, branch, **options):
        target = Path(output)
        target.mkdir(parents=True, exist_ok=True)
        year = current_cycle().year
        branch = Organization.objects.get(code=branch)
        committee = Organization.objects.get(parent__isnull=True)
        for kind, name in EXAMPLES.items():
            with (target / name).open("wb") as handle:
                exports.WRITERS[kind](handle, organization=committee if kind == "committee" else branch, year=year)
        member = branch.members.order_by("number").first()
        with (target / "member-ledger.xlsx").open("wb") as handle:
            exports.write_member_workbook(handle, member=member, year=year)
        admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        content, _name = card_import.card_template(actor=admin, branch=branch)
        (target / "card-import-template.xlsx").write_bytes(content)
        self.stdout.write(self.style.SUCCESS(f"examples written to {target}"))
