"""API tokens: their name in the audit log, their expiry, and revoking them (by the user, an administrator, or the
system when the account is locked or its password changes). Below api_auth, auth_backends and actions, which all
use it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from rest_framework.authtoken.models import Token

from gongzhi.core import audit
from gongzhi.core.gate import require
from gongzhi.core.models import User


def token_tag(key: str) -> str:
    """A short name of a token for the audit log (never the token itself): "api-token:" + 12 hex digits."""
    return "api-token:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def expires_at(token):
    return token.created + timedelta(hours=settings.GONGZHI_API_TOKEN_HOURS)


@transaction.atomic
def revoke_api_tokens(*, actor: User | None, user: User, reason: str = "") -> int:
    """Revoke every API token of `user`: by himself, by an administrator, or by the system (actor None) when the
    account is locked or its password changes."""
    require(actor, "core.revoke_api_tokens", user)
    tags = [token_tag(key) for key in Token.objects.filter(user=user).values_list("key", flat=True)]
    if not tags:
        return 0
    Token.objects.filter(user=user).delete()
    audit.record("core.revoke_api_tokens", user, actor=actor, changes={"tokens": tags, "reason": reason})
    return len(tags)
