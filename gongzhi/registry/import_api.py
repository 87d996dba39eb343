"""POST /api/v1/roster-imports/ — import a compound's roster file through the same action as the pages;
GET /api/v1/roster-imports/<id>/ — a queued import's status and report.

A dry run (the default) of a small file (≤ 2,000 rows) answers 200 with the report at once: every bad row with
its column and reason (zh + en) and the counts the import would write. A real import, and the dry run of a
larger file, runs on the task worker: the answer is 202 with the job's id and its `status_url`, which answers
`status` queued / running / done / failed and, once finished, the report. A failed import wrote nothing; its
`message`/`message_en` say why and, for bad rows, `errors` has one entry per bad cell
(`field` = "rows.<row>.<column>").
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from gongzhi.core.api import bad_request, error_responses
from gongzhi.core.gate import GatePermission, require
from gongzhi.core.rules import SIGNED_IN
from gongzhi.registry import import_jobs
from gongzhi.registry.importer import MAX_BYTES, RosterFileError, estimate_rows, import_roster, sniff_format
from gongzhi.registry.models import AreaNode, ImportJob


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
    errors_total = serializers.IntegerField(
        required=False, help_text="任务报告只保留前10000处问题 / a job's report keeps the first 10,000 problems"
    )
    warnings_total = serializers.IntegerField(required=False)


class RosterImportJobSerializer(serializers.Serializer):
    job = serializers.IntegerField(help_text="任务编号 / job id")
    status = serializers.ChoiceField(
        choices=[c for c, _ in ImportJob.Status.choices],
        help_text="queued 排队中 / running 处理中 / done 完成 / failed 未完成（未写入任何数据）",
    )
    status_url = serializers.URLField(help_text="查询进度和结果 / poll this for the status and the report")
    compound = serializers.IntegerField()
    filename = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    skip_bad_rows = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField(help_text="未完成的原因（中文），否则为空 / why it failed, in Chinese; else empty")
    message_en = serializers.CharField()
    errors = serializers.ListField(
        child=serializers.DictField(),
        help_text="有问题的行：{field: rows.<行>.<列>, message, message_en, code: invalid_row}",
    )
    report = RosterImportReportSerializer(allow_null=True, help_text="完成后才有 / present once finished")


def row_errors(report: dict | None) -> list[dict]:
    return [
        {
            "field": f"rows.{e['row']}.{e['column']}",
            "message": e["text"],
            "message_en": e["text_en"],
            "code": "invalid_row",
        }
        for e in (report or {}).get("errors", [])
    ]


def job_body(request, job: ImportJob) -> dict:
    failed = job.status == ImportJob.Status.FAILED
    return {
        "job": job.pk,
        "status": job.status,
        "status_url": request.build_absolute_uri(reverse("roster-import-detail", kwargs={"pk": job.pk})),
        "compound": job.compound_id,
        "filename": job.filename,
        "sha256": job.sha256,
        "size": job.size,
        "dry_run": job.dry_run,
        "skip_bad_rows": job.skip_bad_rows,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "message": job.message,
        "message_en": job.message_en,
        "errors": row_errors(job.report) if failed else [],
        "report": job.report,
    }


def _not_found(zh: str = "未找到", en: str = "not found") -> Response:
    return Response({"status": 404, "message": zh, "message_en": en, "errors": []}, status=status.HTTP_404_NOT_FOUND)


class RosterImportViewSet(viewsets.ViewSet):
    """花名册导入 / roster import (one compound per request)."""

    permission_classes = [GatePermission]
    # Decided on the compound and the job (403 to import into a compound one may not; 404 for another's job).
    gate_perms = {"create": SIGNED_IN, "retrieve": SIGNED_IN}

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="导入楼院花名册（默认试运行）/ import a compound's roster (dry run by default)",
        description=(
            "小文件（≤2000行）的试运行直接返回检查结果（200）；正式导入和大文件的试运行在后台进行，返回202和"
            "任务地址 status_url。/ A small file's dry run (≤ 2,000 rows) answers 200 with the report; a real "
            "import, and a larger file's dry run, run in the background: 202 with the job's status_url."
        ),
        request={"multipart/form-data": RosterImportRequest},
        responses={
            200: RosterImportReportSerializer,
            202: RosterImportJobSerializer,
            **error_responses(400, 401, 403, 404),
        },
        examples=[
            OpenApiExample(
                "queued",
                response_only=True,
                status_codes=["202"],
                value={
                    "job": 42,
                    "status": "queued",
                    "status_url": "https://example.org/api/v1/roster-imports/42/",
                    "dry_run": False,
                    "report": None,
                },
            ),
            OpenApiExample(
                "bad file",
                response_only=True,
                status_codes=["400"],
                value={
                    "status": 400,
                    "message": "请求数据有误",
                    "message_en": "invalid request",
                    "errors": [
                        {
                            "field": "file",
                            "message": "不支持旧版 .xls 文件，请在Excel中另存为 .xlsx 或 CSV",
                            "message_en": "old .xls files are not supported: save as .xlsx or CSV in Excel",
                            "code": "invalid",
                        }
                    ],
                },
            ),
        ],
    )
    def create(self, request):
        form = RosterImportRequest(data=request.data)
        form.is_valid(raise_exception=True)
        args = form.validated_data
        compound = AreaNode.objects.select_related("level").filter(pk=args["compound"]).first()
        if compound is None:
            return _not_found("没有这个楼院", "no such compound")
        upload = args["file"]
        if upload.size > MAX_BYTES:
            return bad_request("file", "文件超过10MB上限", "the file is larger than the 10 MB limit")
        require(request.user, "registry.import_roster", compound)  # 403 before saying anything about the node
        if not compound.level.is_compound:
            return bad_request("compound", "所选区域不是楼院", "the node is not a compound (楼院)")
        data = upload.read()
        dry_run, skip = args["dry_run"], args["skip_bad_rows"]
        if dry_run and estimate_rows(data) <= import_jobs.BACKGROUND_ROWS:
            try:
                report = import_roster(compound, data, actor=request.user, dry_run=True, skip_bad_rows=skip)
            except RosterFileError as e:
                return bad_request("file", e.zh, e.en)
            return Response(report.as_dict(), status=status.HTTP_200_OK)
        try:
            sniff_format(data)
        except RosterFileError as e:  # no need to queue what cannot be read at all
            return bad_request("file", e.zh, e.en)
        job, _created = import_jobs.queue_import(
            compound,
            import_jobs.stash(data),
            actor=request.user,
            dry_run=dry_run,
            skip_bad_rows=skip,
            filename=(upload.name or "")[:200],
        )
        body = job_body(request, job)
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})

    @extend_schema(
        summary="花名册导入任务的进度和结果 / a roster import job's status and report",
        description=(
            "仅任务的提交人和有权导入该楼院的工作人员可见，其他人得到404（不透露任务是否存在）。/ Visible to the one "
            "who submitted it and to the staff who may import into the compound; 404 for everyone else (whether "
            "the job exists is not disclosed)."
        ),
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="任务编号 / job id")],
        responses={200: RosterImportJobSerializer, **error_responses(401, 403, 404)},
        examples=[
            OpenApiExample(
                "failed: bad rows",
                response_only=True,
                status_codes=["200"],
                value={
                    "job": 42,
                    "status": "failed",
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
    def retrieve(self, request, pk=None):
        job = ImportJob.objects.filter(pk=pk).first() if str(pk).isdigit() else None
        if job is None or not request.user.has_perm("registry.view_importjob", job):
            return _not_found()
        return Response(job_body(request, import_jobs.sync_with_task(job)))
