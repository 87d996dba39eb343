"""API tokens: the second factor for the roles that need it, expiry, revocation by owner and administrator, an
audit entry for each issue and revocation, and every use of a token named in the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from gongzhi.core.models import AuditEntry
from gongzhi.core.tokens import token_tag
from testkit.world import PASSWORD

TOKEN = "/api/v1/token/"


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def ask(username: str, **extra):
    return APIClient().post(TOKEN, {"username": username, "password": PASSWORD, **extra}, format="json")


@pytest.fixture
def officer(persona, mini):
    user = persona("registry_officer", node=mini.community, username="officer")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["registry_officer", "district_admin"])
def test_a_role_needing_a_second_factor_gets_no_token_for_a_password_alone(persona, mini, role):
    user = persona(role, node=mini.district, username="boss")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    response = ask("boss")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "otp" and "动态验证码" in error["message"] and "TOTP" in error["message_en"]
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_without_an_enrolled_authenticator_the_answer_says_to_enrol_first(persona, mini):
    persona("registry_officer", node=mini.community, username="new-officer")
    response = ask("new-officer", otp="123456")
    assert response.status_code == 400 and "enrol" in response.json()["errors"][0]["message_en"]


@pytest.mark.django_db
def test_a_wrong_totp_code_is_refused_and_counted_towards_the_lockout(officer):
    from gongzhi.core import limits

    user, device = officer
    wrong = f"{(int(code_for(device)) + 1) % 10**6:06d}"
    response = ask("officer", otp=wrong)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "otp"
    assert limits.count(("signin", "officer")) >= 1 and not Token.objects.exists()


@pytest.mark.django_db
def test_with_the_totp_code_the_token_is_issued_audited_and_expires(officer):
    user, device = officer
    response = ask("officer", otp=code_for(device))
    assert response.status_code == 200
    body = response.json()
    token = Token.objects.get(user=user)
    assert body["token"] == token.key and body["expires_at"]
    entry = AuditEntry.objects.get(action="core.issue_api_token")
    assert entry.actor == user and entry.changes["token"] == token_tag(token.key)
    assert token.key not in str(entry.changes)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/nodes/").status_code == 200
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(hours=13))
    expired = client.get("/api/v1/nodes/")
    assert expired.status_code == 401 and "expired" in expired.json()["message_en"]


@pytest.mark.django_db
@override_settings(GONGZHI_API_TOKEN_HOURS=1)
def test_the_token_lifetime_is_a_setting(persona):
    persona("community_worker", username="wang")
    token = Token.objects.get(key=ask("wang").json()["token"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(minutes=61))
    assert client.get("/api/v1/notices/").status_code == 401


@pytest.mark.django_db
def test_the_owner_revokes_his_token_and_the_revocation_names_the_token_used(persona):
    user = persona("community_worker", username="wang")
    key = ask("wang").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.delete(TOKEN).status_code == 204
    assert not Token.objects.filter(user=user).exists()
    assert client.get("/api/v1/notices/").status_code == 401
    entry = AuditEntry.objects.get(action="core.revoke_api_tokens")
    assert entry.actor == user and entry.channel == token_tag(key)  # the request's actor and its token


@pytest.mark.django_db
def test_an_administrator_revokes_another_users_tokens_and_nobody_else_may(persona, mini):
    worker = persona("community_worker", username="wang")
    Token.objects.create(user=worker)
    other = persona("community_worker", username="li")
    client = APIClient()
    client.force_authenticate(other)
    assert client.delete(f"/api/v1/users/{worker.pk}/token/").status_code == 403
    assert Token.objects.filter(user=worker).exists()
    admin = persona("district_admin", node=mini.district, username="admin")
    client.force_authenticate(admin)
    assert client.delete(f"/api/v1/users/{worker.pk}/token/").status_code == 204
    assert not Token.objects.filter(user=worker).exists()
    entry = AuditEntry.objects.get(action="core.revoke_api_tokens")
    assert entry.actor == admin and entry.target_id == str(worker.pk)
    assert client.delete("/api/v1/users/999999/token/").status_code == 404


@pytest.mark.django_db
def test_a_session_without_its_second_factor_is_not_signed_in_on_the_api(client, officer):
    client.post("/accounts/login/", {"username": "officer", "password": PASSWORD})
    assert "_auth_user_id" in client.session
    assert client.get("/api/v1/nodes/").status_code in (401, 403)
    user, device = officer
    client.post("/accounts/otp/", {"token": code_for(device)})
    assert client.get("/api/v1/nodes/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["x" * 41, "clé", "abc def", '"quoted"', "ab-cd"])
def test_a_token_that_cannot_be_one_is_refused_without_asking_the_database(key, django_assert_num_queries):
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    with django_assert_num_queries(0):
        response = client.get("/api/v1/notices/")
    assert response.status_code == 401  # never a 500: PostgreSQL cannot compare a text holding a NUL
