from django.conf import settings
from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gongzhi.core import actions, limits, tokens
from gongzhi.core.api import GENERIC, bad_request, error_responses
from gongzhi.core.auth_backends import USERNAME_MAX, clear_failures, register_failure
from gongzhi.core.gate import check
from gongzhi.core.models import User
from gongzhi.core.rules import needs_second_factor


class TokenRequest(serializers.Serializer):
    username = serializers.CharField(max_length=USERNAME_MAX, trim_whitespace=False)
    password = serializers.CharField(max_length=1024, trim_whitespace=False)
    otp = serializers.RegexField(
        r"^[0-9]{6}$",
        required=False,
        help_text="动态验证码（需要二次验证的角色必填）/ TOTP code, required for roles that need a second factor",
        error_messages={"invalid": "请输入6位数字动态验证码 / enter the 6-digit code"},
    )


class TokenResponse(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


def too_many(retry_after: int) -> Response:
    zh, en = GENERIC[429]
    response = Response(
        {"status": 429, "message": zh, "message_en": en, "errors": []}, status=status.HTTP_429_TOO_MANY_REQUESTS
    )
    response["Retry-After"] = str(retry_after)
    return response


class TokenView(APIView):
    """Exchange a user name and password — and a TOTP code for roles that need a second factor — for an API
    token that expires after GONGZHI_API_TOKEN_HOURS. The sign-in lockout applies; requests are limited per
    address. DELETE revokes the caller's own token."""

    permission_classes = [AllowAny]

    def _signing_in(self) -> bool:
        return self.request is not None and self.request.method == "POST"

    def get_authenticators(self):
        return [] if self._signing_in() else super().get_authenticators()  # a stale token must not block a new one

    def get_permissions(self):
        return [AllowAny()] if self._signing_in() else [IsAuthenticated()]

    @extend_schema(
        request=TokenRequest,
        responses={200: TokenResponse, **error_responses(400, 429)},
    )
    def post(self, request):
        decision = limits.hit(("token", limits.client_address(request)), settings.GONGZHI_TOKEN_REQUESTS_PER_MINUTE, 60)
        if not decision.allowed:
            return too_many(decision.retry_after)
        data = TokenRequest(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        user = authenticate(request._request, username=d["username"], password=d["password"])
        if user is None:
            return bad_request(None, "用户名或密码不正确，或账号已锁定", "wrong credentials or account locked")
        if settings.GONGZHI_REQUIRE_SECOND_FACTOR and needs_second_factor(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                return bad_request(
                    "otp",
                    "您的角色需要二次验证：请先在网站上绑定动态验证码",
                    "your role needs a second factor: enrol an authenticator on the website first",
                )
            if not d.get("otp"):
                return bad_request("otp", "您的角色需要二次验证：请填写动态验证码", "your role needs a TOTP code (otp)")
            if not device.verify_token(d["otp"]):
                register_failure(user.username)
                return bad_request("otp", "动态验证码不正确", "the TOTP code is not correct")
        clear_failures(user.username)
        token = actions.issue_api_token(actor=user)
        return Response({"token": token.key, "expires_at": tokens.expires_at(token)})

    @extend_schema(request=None, responses={204: None, **error_responses(401, 403)})
    def delete(self, request):
        tokens.revoke_api_tokens(actor=request.user, user=request.user, reason="revoked by its owner")
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserTokenView(APIView):
    """An administrator revokes another user's API tokens (a lost laptop, a leaver)."""

    @extend_schema(request=None, responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, pk: int):
        user = get_object_or_404(User, pk=pk)
        check(request.user, "core.revoke_api_tokens", user)
        tokens.revoke_api_tokens(actor=request.user, user=user, reason="revoked by an administrator")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiDocsView(TemplateView):
    template_name = "core/api_docs.html"
