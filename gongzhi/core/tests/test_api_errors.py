"""API errors: one shape everywhere ({status, message (zh), message_en, errors[field…]}) and in the schema."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from gongzhi.core.api import bad_request
from gongzhi.core.pii import PiiError, normalize_mobile
from testkit.world import PASSWORD


class BuildingSerializer(serializers.Serializer):
    building = serializers.CharField(error_messages={"required": "楼栋不能为空 / building is required"})
    phone = serializers.CharField()

    def validate_phone(self, value):
        try:
            return normalize_mobile(value)
        except PiiError as e:
            raise serializers.ValidationError(str(e)) from None


def call(exc: Exception | None = None, data=None):
    """Run a throw-away API view that raises `exc` (or validates `data`) through the project's handler."""

    class View(APIView):
        permission_classes = [AllowAny]

        def post(self, request):
            if exc is not None:
                raise exc
            BuildingSerializer(data=request.data).is_valid(raise_exception=True)
            return Response({})

    request = APIRequestFactory().post("/x/", data or {}, format="json")
    response = View.as_view()(request)
    response.render()
    return response.status_code, response.data


def test_a_field_error_names_the_field_chinese_first_then_english():
    status, body = call(data={"phone": "12345"})
    assert status == 400
    assert body["status"] == 400 and body["message"] == "请求数据有误" and body["message_en"] == "invalid request"
    by_field = {e["field"]: e for e in body["errors"]}
    assert by_field["building"]["message"] == "楼栋不能为空"
    assert by_field["building"]["message_en"] == "building is required"
    assert by_field["building"]["code"] == "required"
    assert by_field["phone"]["message"].startswith("手机号码")
    assert "mobile number" in by_field["phone"]["message_en"]


def test_nested_and_non_field_errors():
    exc = exceptions.ValidationError(
        {"units": [{"number": ["房号重复 / duplicate unit number"]}], "non_field_errors": ["整体无效 / invalid"]}
    )
    status, body = call(exc)
    assert status == 400
    assert {(e["field"], e["message"], e["message_en"]) for e in body["errors"]} == {
        ("units.number", "房号重复", "duplicate unit number"),
        (None, "整体无效", "invalid"),
    }


def test_django_validation_errors_are_turned_into_field_errors():
    status, body = call(DjangoValidationError({"floor": ["楼层应为正数 / floor must be positive"]}))
    assert status == 400
    assert body["errors"] == [
        {"field": "floor", "message": "楼层应为正数", "message_en": "floor must be positive", "code": "invalid"}
    ]


def test_a_pii_error_is_a_400():
    status, body = call(PiiError("身份证号码校验位不正确", "the check digit of the ID number is wrong"))
    assert status == 400
    assert body["errors"][0]["message"] == "身份证号码校验位不正确"
    assert body["errors"][0]["message_en"] == "the check digit of the ID number is wrong"


@pytest.mark.parametrize(
    ("exc", "status", "zh"),
    [
        (Http404(), 404, "未找到"),
        (PermissionDenied(), 403, "您没有权限执行此操作"),
        (exceptions.NotAuthenticated(), 401, "请先登录"),
        (exceptions.MethodNotAllowed("DELETE"), 405, "不支持该请求方法"),
        (exceptions.Throttled(wait=30), 429, "请求过于频繁"),
    ],
)
def test_other_errors_share_the_shape(exc, status, zh):
    got, body = call(exc)
    assert got == status
    assert body["status"] == status and body["message"] == zh and body["message_en"] and body["errors"] == []


def test_bad_request_helper():
    response = bad_request("unit", "房屋不存在", "no such unit")
    assert response.status_code == 400
    assert response.data["errors"] == [
        {"field": "unit", "message": "房屋不存在", "message_en": "no such unit", "code": "invalid"}
    ]


@pytest.mark.django_db
def test_an_anonymous_api_call_gets_401_in_the_shape():
    response = APIClient().get("/api/v1/nodes/")
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401 and body["message"] == "请先登录" and body["errors"] == []


# --- The token endpoint ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [({}, "username"), ({"username": "wang"}, "password"), ({"password": PASSWORD}, "username")],
)
def test_token_endpoint_errors_name_the_missing_field(data, field):
    response = APIClient().post(reverse("api-token"), data, format="json")
    assert response.status_code == 400
    error = next(e for e in response.json()["errors"] if e["field"] == field)
    assert error["message"] and error["message_en"] == "This field is required."


@pytest.mark.django_db
def test_token_endpoint_refuses_wrong_credentials_and_issues_a_token(persona):
    persona("community_worker", username="wang")
    client = APIClient()
    bad = client.post(reverse("api-token"), {"username": "wang", "password": "nope"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["message_en"] == "wrong credentials or account locked"
    good = client.post(reverse("api-token"), {"username": "wang", "password": PASSWORD}, format="json")
    assert good.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {good.json()['token']}")
    assert client.get("/api/v1/nodes/").status_code == 200


# --- The OpenAPI document ----------------------------------------------------------------------------------


@pytest.fixture
def schema(db):
    response = APIClient().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, op


def test_the_schema_renders_with_the_error_shape(schema):
    assert schema["info"]["title"] == "Gongzhi 共治 API"
    error = schema["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"status", "message", "message_en", "errors"}


def test_the_schema_lists_400_401_403_404(schema):
    listed = set()
    for _path, _method, op in operations(schema):
        listed |= set(op["responses"])
    assert {"400", "401", "403", "404"} <= listed
    token = schema["paths"]["/api/v1/token/"]["post"]["responses"]
    assert "400" in token


def test_every_signed_in_operation_documents_401_and_403(schema):
    """House rule: the OpenAPI document lists every error response. Use core.api.error_responses(...).

    Operations open to anonymous callers (security lists `{}`, e.g. the voting receipt check) document at
    least one 4xx instead."""
    missing = []
    for path, method, op in operations(schema):
        codes = set(op["responses"])
        anonymous = {} in op.get("security", [{}])
        if anonymous and not any(c.startswith("4") for c in codes):
            missing.append(f"{method.upper()} {path} (no 4xx)")
        elif not anonymous and not {"401", "403"} <= codes:
            missing.append(f"{method.upper()} {path} (401/403)")
    assert missing == [], "operations without documented error responses: " + ", ".join(missing)


def test_every_error_response_uses_the_error_shape(schema):
    for path, method, op in operations(schema):
        for code, response in op["responses"].items():
            if code.startswith("4"):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/Error"), f"{method.upper()} {path} {code} → {ref}"


class LimitsSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=3)
    count = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["a"])


@pytest.mark.parametrize(
    ("data", "field", "zh", "en"),
    [
        # Gongzhi words Django's own required-field message itself (gongzhi/locale/zh_Hans); DRF shares the msgid.
        ({"name": "a", "count": 1}, "kind", "请填写这一项。", "This field is required."),
        (
            {"name": "abcd", "count": 1, "kind": "a"},
            "name",
            "请确保这个字段不能超过 3 个字符。",
            "Ensure this field has no more than 3 characters.",
        ),
        ({"name": "a", "count": "x", "kind": "a"}, "count", "请填写合法的整数值。", "A valid integer is required."),
        ({"name": "a", "count": 1, "kind": "z"}, "kind", "“z” 不是合法选项。", '"z" is not a valid choice.'),
    ],
)
def test_the_frameworks_own_messages_come_in_english_too(data, field, zh, en):
    """DRF and Django write these in the active language only: the English comes from their catalogs, read back."""

    class View(APIView):
        permission_classes = [AllowAny]

        def post(self, request):
            LimitsSerializer(data=request.data).is_valid(raise_exception=True)
            return Response({})

    # as LocaleMiddleware would for a Chinese reader: which language is active outside a request depends on what
    # ran before in the session (a management command run with translations off leaves none active)
    with translation.override("zh-hans"):
        response = View.as_view()(APIRequestFactory().post("/x/", data, format="json"))
    (error,) = [e for e in response.data["errors"] if e["field"] == field]
    assert (error["message"], error["message_en"]) == (zh, en)


def test_an_unknown_chinese_message_is_never_repeated_as_english():
    status, body = call(exceptions.ValidationError({"x": ["某个没有英文的提示"]}))
    assert body["errors"][0]["message"] == "某个没有英文的提示"
    assert body["errors"][0]["message_en"] == "invalid request"
