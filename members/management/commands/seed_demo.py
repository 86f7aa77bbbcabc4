from django.core.management.base import BaseCommand

from members.demo import DEFAULT_MEMBERS, DEMO_PASSWORD, demo_university_seed


class Command(BaseCommand):
    help = "Load the demo university (idempotent: does nothing when it is already there)."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=DEFAULT_MEMBERS,
                            help=f"size of the university (default {DEFAULT_MEMBERS}; more branches, not bigger ones)")

    def handle(self, *args, **options):
        if demo_university_seed(member_count=options["members"]):
            self.stdout.write(self.style.SUCCESS(f"demo university loaded; every password is {DEMO_PASSWORD}"))
        else:
            self.stdout.write("demo university already present; nothing to do")
