from django.contrib.auth import authenticate
from django.views.generic import TemplateView
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from gongzhi.core.api import bad_request, error_responses


class TokenView(APIView):
    """Exchange a user name and password for an API token (lockout applies as on the sign-in page)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=inline_serializer(
            "TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()}), **error_responses(400)},
    )
    def post(self, request):
        username = request.data.get("username") or ""
        password = request.data.get("password") or ""
        if not username:
            return bad_request("username", "请填写用户名", "username is required")
        if not password:
            return bad_request("password", "请填写密码", "password is required")
        user = authenticate(request._request, username=username, password=password)
        if user is None:
            return bad_request(None, "用户名或密码不正确，或账号已锁定", "wrong credentials or account locked")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class ApiDocsView(TemplateView):
    template_name = "core/api_docs.html"
