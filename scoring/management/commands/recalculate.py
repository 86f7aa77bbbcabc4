from django.core.management.base import BaseCommand, CommandError

from members.models import Organization
from scoring.services import recalculate


class Command(BaseCommand):
    help = "Recompute stored totals, ranks and outcomes from the ledger (chunks of whole branches)."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--org", type=int, help="only the branches under this organization id")

    def handle(self, *args, year, org=None, **options):
        organization = None
        if org is not None:
            organization = Organization.objects.filter(pk=org).first()
            if organization is None:
                raise CommandError(f"no organization with id {org}")
        done = recalculate(year=year, organization=organization)
        self.stdout.write(self.style.SUCCESS(f"recalculated {done} members for {year}"))
