from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.accounts.services import api_token_create
from apps.core.errors import InvalidInput


class Command(BaseCommand):
    help = "Create a personal API token for USERNAME and print it, alone, on stdout."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A name for the token (default: cli-<date>)")

    def handle(self, *args, username: str, name: str, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"There is no user named “{username}”.") from None
        if not user.is_active:
            raise CommandError(f"The user “{username}” is inactive.")
        name = name or f"cli-{timezone.now():%Y%m%d-%H%M%S}"
        try:
            _, value = api_token_create(user=user, name=name)
        except InvalidInput as error:
            raise CommandError(
                "; ".join(message for messages in error.errors.values() for message in messages)
            ) from None
        # Only the token on stdout, so `TOKEN=$(manage.py create_api_token alice)` just works.
        self.stdout.write(value)
