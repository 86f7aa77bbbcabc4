from django.core.management.base import BaseCommand

from members.services import role_permissions_sync_all


class Command(BaseCommand):
    help = "Rewrite every role holder's object permissions from their active role assignments."

    def handle(self, *args, **options):
        role_permissions_sync_all()
        self.stdout.write("role permissions synchronised")
