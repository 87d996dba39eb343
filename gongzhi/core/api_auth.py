"""How the API knows who is calling: tokens that expire and die with a lock or a new password, and sessions
that count only once their second factor is verified (the web pages ask for it; the API must not be a way round).
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token

from gongzhi.core.context import channel_var
from gongzhi.core.rows import Read
from gongzhi.core.rules import needs_second_factor
from gongzhi.core.tokens import expires_at, token_tag


class ExpiringTokenAuthentication(TokenAuthentication):
    """A token works until it expires, is revoked, or its password changes. A lock needs no check per request: the
    failure that locks an account revokes its tokens (auth_backends._locked_now), a locked account is refused a new
    one, and a new password revokes them too (checked here as well, at no cost: the user row is read anyway)."""

    # DRF's own look-up (`Token.objects.select_related("user").get(key=…)`), its SQL built once: every API request.
    _token = Read(Token, "t.key = %s", related=("user",))

    def authenticate_credentials(self, key):
        # A key is 40 hex digits (Token.generate_key): anything else — a NUL, which PostgreSQL cannot even compare,
        # or a megabyte — is refused before the database is asked.
        token = self._token.first(key) if len(key) <= 40 and key.isascii() and key.isalnum() else None
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if expires_at(token) <= timezone.now():
            raise exceptions.AuthenticationFailed("令牌已过期，请重新获取 / the token has expired; request a new one")
        if user.password_changed_at and token.created < user.password_changed_at:
            raise exceptions.AuthenticationFailed(
                "密码已更改，请重新获取令牌 / the password changed; request a new token"
            )
        # Every audit entry written during this request names the token it came through (and its user as actor).
        channel_var.set(token_tag(token.key))
        return user, token


class VerifiedSessionAuthentication(SessionAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if (
            settings.GONGZHI_REQUIRE_SECOND_FACTOR
            and needs_second_factor(user)
            and not (hasattr(user, "is_verified") and user.is_verified())
        ):
            return None  # unauthenticated for the API until the second factor is verified on the site
        return result


class VerifiedSessionScheme(SessionScheme):
    """The OpenAPI document describes the verified session like Django's session cookie."""

    target_class = "gongzhi.core.api_auth.VerifiedSessionAuthentication"
