"""Shared API pieces: errors that name the field (Chinese first, English too), keyset (cursor) pagination."""

from __future__ import annotations

import functools
import re

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import trans_real
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from gongzhi.core.pii import PiiError

GENERIC = {
    400: ("请求数据有误", "invalid request"),
    401: ("请先登录", "authentication required"),
    403: ("您没有权限执行此操作", "you do not have permission for this"),
    404: ("未找到", "not found"),
    405: ("不支持该请求方法", "method not allowed"),
    409: ("与现有数据冲突", "conflicts with existing data"),
    429: ("请求过于频繁", "too many requests"),
}


_PLACEHOLDER = re.compile(r"\{(\w+)\}|%\((\w+)\)[sd]")


@functools.cache
def _english_lookup() -> tuple[dict[str, str], list[tuple[re.Pattern, str]]]:
    """Chinese → English for the messages Django and DRF write themselves ("该字段是必填项。"): the loaded
    zh-hans catalogs read backwards. Messages with placeholders ("请确保这个字段不能超过 {max_length} 个字符。")
    become patterns whose captured values are put into the English text."""
    exact: dict[str, str] = {}
    patterns: list[tuple[re.Pattern, str]] = []
    for msgid, zh in trans_real.translation("zh-hans")._catalog.items():
        if not isinstance(msgid, str) or not msgid or not zh or msgid == zh:
            continue  # plural forms are keyed (msgid, n); our own messages are written in Chinese already
        if _PLACEHOLDER.search(zh):
            parts, pos = [], 0
            for m in _PLACEHOLDER.finditer(zh):
                parts.append(re.escape(zh[pos : m.start()]))
                parts.append(f"(?P<{m.group(1) or m.group(2)}>.+?)")
                pos = m.end()
            parts.append(re.escape(zh[pos:]))
            try:
                patterns.append((re.compile("".join(parts) + "$"), msgid))
            except re.error:  # the same placeholder twice: leave it to the exact table
                continue
        else:
            exact.setdefault(zh, msgid)
    return exact, patterns


def english(text: str) -> str:
    """The English of a message Django or DRF wrote in Chinese; "" when it is not one of theirs."""
    exact, patterns = _english_lookup()
    if text in exact:
        return exact[text]
    for pattern, msgid in patterns:
        m = pattern.match(text)
        if m:
            values: dict[str, str] = m.groupdict()

            def fill(p: re.Match[str], v: dict[str, str] = values) -> str:
                return v.get(p.group(1) or p.group(2), p.group(0))

            return _PLACEHOLDER.sub(fill, msgid)
    return ""


def _flatten(detail, prefix="") -> list[dict]:
    out = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = key if key != "non_field_errors" else ""
            out += _flatten(value, f"{prefix}.{field}" if prefix and field else (field or prefix))
    elif isinstance(detail, list):
        for item in detail:
            out += _flatten(item, prefix)
    else:
        text = str(detail)
        zh, _, en = text.partition(" / ")
        if not en:
            en = text if text.isascii() else (english(text) or GENERIC[400][1])
            if text.isascii():  # written in English only (a DRF message with no Chinese translation)
                zh = GENERIC[400][0]
        out.append(
            {"field": prefix or None, "message": zh, "message_en": en, "code": getattr(detail, "code", "invalid")}
        )
    return out


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, PiiError):
        exc = exceptions.ValidationError(str(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RecursionError):  # a body nested too deeply for the parser
        exc = exceptions.ParseError("JSON 嵌套层数过多 / the JSON is nested too deeply")
    response = drf_handler(exc, context)
    if response is None:
        return None
    code = response.status_code
    zh, en = GENERIC.get(code, ("请求失败", "request failed"))
    errors = _flatten(response.data) if code == 400 else []
    if code != 400:
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        # DRF translates its default messages; keep our bilingual pair unless a custom English one was given.
        text = str(detail) if detail else ""
        own_zh, _, own_en = text.partition(" / ")
        if own_en and not own_zh.isascii():  # our own "中文 / English" pair
            zh, en = own_zh, own_en
        elif text and text.isascii() and text not in (zh, en):
            en = text
    response.data = {"status": code, "message": zh, "message_en": en, "errors": errors}
    return response


ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "status": serializers.IntegerField(),
        "message": serializers.CharField(help_text="中文说明"),
        "message_en": serializers.CharField(help_text="English message"),
        "errors": serializers.ListField(
            child=inline_serializer(
                name="FieldError",
                fields={
                    "field": serializers.CharField(allow_null=True),
                    "message": serializers.CharField(),
                    "message_en": serializers.CharField(),
                    "code": serializers.CharField(),
                },
            )
        ),
    },
)


def error_responses(*codes: int) -> dict:
    """OpenAPI responses for the listed error codes (every endpoint lists 401 and 403)."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=f"{GENERIC[code][0]} / {GENERIC[code][1]}") for code in codes
    }


class KeyCursorPagination(CursorPagination):
    """Pages by key, never by counting: page N costs the same at 10 rows and at 10 million."""

    ordering = "id"
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"

    def decode_cursor(self, request):
        """A cursor that is not one of ours is a 400 naming the field (DRF answers 404, which no list documents)."""
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {
                    "cursor": [
                        "游标无效：请使用上一页返回的 next 链接 / invalid cursor: use the next link of the previous page"
                    ]
                }
            ) from None


def bad_request(field: str | None, zh: str, en: str) -> Response:
    return Response(
        {
            "status": 400,
            "message": GENERIC[400][0],
            "message_en": GENERIC[400][1],
            "errors": [{"field": field, "message": zh, "message_en": en, "code": "invalid"}],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )
