from django.core.management.base import BaseCommand

from members.demo import DEMO_PASSWORD, demo_university_seed


class Command(BaseCommand):
    help = "Load the demo university (idempotent: does nothing when it is already there)."

    def handle(self, *args, **options):
        if demo_university_seed():
            self.stdout.write(self.style.SUCCESS(f"demo university loaded; every password is {DEMO_PASSWORD}"))
        else:
            self.stdout.write("demo university already present; nothing to do")
