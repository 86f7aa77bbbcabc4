from django.core.management.base import BaseCommand, CommandError

from members import services
from members.models import User
from partyscore.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Remove an account's TOTP device (lost or replaced phone); audited with the reason given."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no account {options['username']}")
        try:
            services.two_factor_reset(actor=None, user=user, reason=options["reason"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(self.style.SUCCESS(f"two-factor removed for {user.username}; they log in with the password"))
