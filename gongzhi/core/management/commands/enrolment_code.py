"""enrolment_code — issue a second-factor enrolment code (绑定码) from the server, for the first superuser.

Nobody can issue a code for an account the site has no other administrator for (the very first superuser, or
the last district administrator who lost his phone); whoever runs commands on the server can. The action is
audited with the system as actor. Everyone else gets codes from a district administrator on the page
/staff/second-factor/.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gongzhi.core import actions
from gongzhi.core.models import User


class Command(BaseCommand):
    help = "Issue a one-time second-factor enrolment code for a user (--reset: remove the authenticator first)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reset", action="store_true", help="lost phone: delete the user's authenticators")

    def handle(self, *args, username: str, reset: bool, **opts):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"没有用户 {username} / no such user")
        try:
            if reset:
                issued = actions.reset_second_factor(user, actor=None)
            else:
                issued = actions.issue_enrolment_code(user, actor=None)
        except ValidationError as e:
            raise CommandError(" ".join(e.messages)) from None
        self.stdout.write(
            f"{username} 的绑定码 / enrolment code: {issued.display} "
            f"(有效至 / valid until {timezone.localtime(issued.expires_at):%Y-%m-%d %H:%M}, 只能用一次 / single use)"
        )
