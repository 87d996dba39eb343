"""POST /api/v1/roster-imports/ — import a compound's roster file through the same action as the pages.

A dry run (the default) answers 200 with the report: every bad row with its column and reason (zh + en) and
the counts the import would write. A real import answers 201 when written; a file with bad rows and no
`skip_bad_rows` writes nothing and answers 400 with the report and one error per bad cell
(`field` = "rows.<row>.<column>").
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from gongzhi.core.api import bad_request, error_responses
from gongzhi.registry.actions import require
from gongzhi.registry.importer import MAX_BYTES, RosterFileError, import_roster
from gongzhi.registry.models import AreaNode


class RosterImportRequest(serializers.Serializer):
    compound = serializers.IntegerField(
        min_value=1,
        help_text="楼院编号 / id of the compound (楼院) node",
        error_messages={
            "required": "请指定楼院 / compound is required",
            "invalid": "楼院应为编号 / compound must be an id",
            "min_value": "楼院应为编号 / compound must be an id",
        },
    )
    file = serializers.FileField(
        help_text=".xlsx 或 .csv（UTF-8/GB18030），不超过10MB / .xlsx or .csv, at most 10 MB",
        error_messages={
            "required": "请上传花名册文件 / file is required",
            "empty": "文件为空 / the file is empty",
            "invalid": "请以 multipart/form-data 上传文件 / upload the file as multipart/form-data",
        },
    )
    dry_run = serializers.BooleanField(
        default=True, help_text="true（默认）只检查不写入 / true (default): check and count, write nothing"
    )
    skip_bad_rows = serializers.BooleanField(
        default=False, help_text="写入时跳过有问题的行 / write the good rows and skip the bad ones"
    )


class RosterRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="表格行号（第1行为列名） / spreadsheet row, 1 = header")
    column = serializers.CharField(help_text="列的代码 / column key, e.g. phone")
    column_zh = serializers.CharField()
    column_en = serializers.CharField()
    message = serializers.CharField(help_text="原因（中文） / reason in Chinese")
    message_en = serializers.CharField()
    text = serializers.CharField(help_text="如 第5行 手机：… / e.g. 第5行 手机：…")
    text_en = serializers.CharField(help_text="e.g. row 5 phone: …")


class RosterImportReportSerializer(serializers.Serializer):
    compound = serializers.IntegerField()
    compound_name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    rows = serializers.IntegerField(help_text="数据行数 / data rows in the file")
    dry_run = serializers.BooleanField()
    skip_bad_rows = serializers.BooleanField()
    written = serializers.BooleanField()
    fatal = serializers.BooleanField(help_text="列名有误，不能导入 / the header is wrong: nothing can be written")
    bad_rows = serializers.ListField(child=serializers.IntegerField())
    skipped_rows = serializers.ListField(child=serializers.IntegerField())
    summary = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="units_new, units_updated, persons_new, persons_matched, ownerships_new, residences_new, …",
    )
    audit_id = serializers.IntegerField(allow_null=True, help_text="导入编号 / reference of the import")
    errors = RosterRowErrorSerializer(many=True)
    warnings = RosterRowErrorSerializer(many=True)


class RosterImportViewSet(viewsets.ViewSet):
    """花名册导入 / roster import (one compound per request)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="导入楼院花名册（默认试运行）/ import a compound's roster (dry run by default)",
        request={"multipart/form-data": RosterImportRequest},
        responses={
            200: RosterImportReportSerializer,
            201: RosterImportReportSerializer,
            **error_responses(400, 401, 403, 404),
        },
        examples=[
            OpenApiExample(
                "bad row",
                response_only=True,
                status_codes=["400"],
                value={
                    "status": 400,
                    "message": "花名册有问题的行，未写入任何数据",
                    "message_en": "the roster has bad rows: nothing was written",
                    "errors": [
                        {
                            "field": "rows.5.phone",
                            "message": "第5行 手机：手机号码应为11位、以1开头的大陆手机号",
                            "message_en": "row 5 phone: must be an 11-digit mainland mobile number starting with 1",
                            "code": "invalid_row",
                        }
                    ],
                    "report": {"rows": 20, "bad_rows": [5], "written": False},
                },
            )
        ],
    )
    def create(self, request):
        form = RosterImportRequest(data=request.data)
        form.is_valid(raise_exception=True)
        args = form.validated_data
        compound = AreaNode.objects.select_related("level").filter(pk=args["compound"]).first()
        if compound is None:
            return Response(
                {"status": 404, "message": "没有这个楼院", "message_en": "no such compound", "errors": []},
                status=status.HTTP_404_NOT_FOUND,
            )
        upload = args["file"]
        if upload.size > MAX_BYTES:
            return bad_request("file", "文件超过10MB上限", "the file is larger than the 10 MB limit")
        require(request.user, "registry.import_roster", compound)  # 403 before saying anything about the node
        if not compound.level.is_compound:
            return bad_request("compound", "所选区域不是楼院", "the node is not a compound (楼院)")
        try:
            report = import_roster(
                compound,
                upload.read(),
                actor=request.user,
                dry_run=args["dry_run"],
                skip_bad_rows=args["skip_bad_rows"],
            )
        except RosterFileError as e:
            return bad_request("file", e.zh, e.en)
        body = report.as_dict()
        if report.dry_run:
            return Response(body, status=status.HTTP_200_OK)
        if report.written:
            return Response(body, status=status.HTTP_201_CREATED)
        zh, en = (
            ("花名册列名有误，未写入任何数据", "the roster's columns are wrong: nothing was written")
            if report.fatal
            else ("花名册有问题的行，未写入任何数据", "the roster has bad rows: nothing was written")
        )
        errors = [
            {
                "field": f"rows.{e.row}.{e.column}",
                "message": e.message,
                "message_en": e.message_en,
                "code": "invalid_row",
            }
            for e in report.errors
        ]
        return Response(
            {"status": 400, "message": zh, "message_en": en, "errors": errors, "report": body},
            status=status.HTTP_400_BAD_REQUEST,
        )
