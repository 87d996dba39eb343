"""Staff pages for the roster import (upload → dry-run report → confirm → job status) and the roster export.

The uploaded file waits in the private stash (see `import_jobs`), named by a random token bound to the user who
uploaded it. A small file is checked inline; a large one, and every real import, runs on the task worker, and
the job's page refreshes itself every 3 seconds (no JavaScript) until the job has finished. Nothing personal goes
into the audit log or the job's report: row numbers, columns and reasons, never cell values.
"""

from __future__ import annotations

import csv
import io
import tempfile

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from gongzhi.core.gate import permission_required
from gongzhi.core.rules import SIGNED_IN, scoped
from gongzhi.core.spreadsheets import csv_text
from gongzhi.registry import exporter, import_jobs
from gongzhi.registry.disclosure import can_unmask
from gongzhi.registry.importer import (
    COLUMNS,
    FORMAT_HELP,
    MAX_BYTES,
    RosterFileError,
    estimate_rows,
    import_roster,
    sample_rows,
)
from gongzhi.registry.models import AreaNode, ImportJob

MAX_SHOWN_ERRORS = 500
COMPOUND_CHOICES_LIMIT = 500
REFRESH_SECONDS = 3


# --- Pages -----------------------------------------------------------------------------------------------


def importable_compounds(user, q: str = ""):
    qs = scoped(AreaNode.objects.filter(level__is_compound=True), user, "registry.edit").order_by("path")
    if q:
        qs = qs.filter(name__contains=q)
    return qs


class UploadForm(forms.Form):
    compound = forms.TypedChoiceField(label=gettext_lazy("导入到哪个楼院"), coerce=int)
    file = forms.FileField(
        label=gettext_lazy("花名册文件"), help_text=gettext_lazy("Excel（.xlsx）或CSV文件，不超过10MB")
    )
    skip_bad_rows = forms.BooleanField(
        label=gettext_lazy("跳过有问题的行"),
        required=False,
        help_text=gettext_lazy("不勾选时，文件中只要有一行有问题，就什么都不导入"),
    )

    def __init__(self, *args, compounds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].choices = [("", _("请选择"))] + [
            (c.pk, f"{c.name}（{c.address}）" if c.address else c.name) for c in compounds
        ]

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_BYTES:
            raise forms.ValidationError(_("文件超过10MB上限 / the file is larger than the 10 MB limit"))
        if not f.name.lower().endswith((".xlsx", ".csv", ".txt")):
            raise forms.ValidationError(_("只接受 .xlsx 或 .csv 文件 / only .xlsx or .csv files"))
        return f


def job_url(job: ImportJob) -> str:
    return reverse("registry:import-job", kwargs={"pk": job.pk})


@permission_required("registry.import_roster")
@require_http_methods(["GET", "POST"])
def import_start(request):
    q = request.GET.get("q", "").strip()[:50]
    compounds = list(importable_compounds(request.user, q)[: COMPOUND_CHOICES_LIMIT + 1])
    preselect = request.GET.get("compound", "")
    if preselect.isdigit() and all(c.pk != int(preselect) for c in compounds):
        compounds += list(importable_compounds(request.user).filter(pk=int(preselect)))
    truncated = len(compounds) > COMPOUND_CHOICES_LIMIT
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        compounds=compounds[:COMPOUND_CHOICES_LIMIT] if truncated else compounds,
        initial={"compound": preselect},
    )
    if request.method == "POST" and form.is_valid():
        compound = get_object_or_404(AreaNode, pk=form.cleaned_data["compound"], level__is_compound=True)
        upload = form.cleaned_data["file"]
        data = upload.read()
        skip = form.cleaned_data["skip_bad_rows"]
        name = upload.name[:200]
        if estimate_rows(data) > import_jobs.BACKGROUND_ROWS:  # seconds of checking: on the task worker
            job, _created = import_jobs.queue_import(
                compound, import_jobs.stash(data), actor=request.user, dry_run=True, skip_bad_rows=skip, filename=name
            )
            return redirect(job_url(job))
        try:
            report = import_roster(compound, data, actor=request.user, dry_run=True, skip_bad_rows=skip)
        except RosterFileError as e:
            form.add_error("file", f"{e.zh} / {e.en}")
        else:
            token = import_jobs.stash(data)
            import_jobs.record_dry_run(compound, token, report, actor=request.user, filename=name)
            return redirect("registry:import-review", token=token)
    return render(
        request,
        "registry/import_upload.html",
        {
            "form": form,
            "q": q,
            "truncated": truncated,
            "columns": COLUMNS,
            "format_help": FORMAT_HELP,
        },
    )


def _dry_run_of(token: str, user) -> ImportJob:
    """The dry run of this user's stashed file; 404 for a wrong or someone else's token."""
    if not import_jobs.TOKEN.match(token):
        raise Http404
    job = ImportJob.objects.select_related("compound").filter(token=token, dry_run=True, created_by=user).first()
    if job is None:
        raise Http404
    return job


def _import_of(token: str) -> ImportJob | None:
    return ImportJob.objects.filter(token=token, dry_run=False).first()


@permission_required(SIGNED_IN)  # the object decides (404 out of sight, 403 refused)
@require_http_methods(["GET", "POST"])
def import_review(request, token: str):
    dry = _dry_run_of(token, request.user)
    if dry.status != ImportJob.Status.DONE:
        return redirect(job_url(dry))  # still checking, or the check failed: the job's page says which
    existing = _import_of(token)
    if existing is not None:
        return redirect(job_url(existing))  # already confirmed: never queued twice
    report = dry.report
    skip, problem = dry.skip_bad_rows, ""
    expired = import_jobs.stash_expired(dry)
    if request.method == "POST" and not report["fatal"]:
        skip = bool(request.POST.get("skip_bad_rows"))
        if expired:
            problem = _("上传的文件已超过1小时，已删除，请重新上传。")
        elif report["errors"] and not skip:
            # The problems come from the file alone (no database look-up), so the import would write nothing.
            problem = _("文件中有问题的行，未导入任何数据。请修改文件后重新上传，或勾选“跳过有问题的行”。")
        else:
            try:
                job, _created = import_jobs.queue_import(
                    dry.compound, token, actor=request.user, dry_run=False, skip_bad_rows=skip, filename=dry.filename
                )
            except FileNotFoundError:
                problem = _("上传的文件已超过1小时，已删除，请重新上传。")
            else:
                return redirect(job_url(job))
    errors = report["errors"]
    return render(
        request,
        "registry/import_report.html",
        {
            "job": dry,
            "compound": dry.compound,
            "report": report,
            "skip": skip,
            "problem": problem,
            "expired": expired,
            "errors": errors[:MAX_SHOWN_ERRORS],
            "more_errors": max(0, report.get("errors_total", len(errors)) - MAX_SHOWN_ERRORS),
            "summary": _summary_rows(report["summary"]),
        },
    )


@permission_required(SIGNED_IN)  # the object decides (404 out of sight, 403 refused)
def import_done(request, token: str):
    """The address of the finished import before imports became jobs: now the import job's page."""
    _dry_run_of(token, request.user)
    job = _import_of(token)
    if job is None:
        return redirect("registry:import-review", token=token)
    return redirect(job_url(job))


def _visible_job(request, pk: int) -> ImportJob:
    job = get_object_or_404(ImportJob.objects.select_related("compound"), pk=pk)
    if not request.user.has_perm("registry.view_importjob", job):
        raise Http404  # not even whether it exists
    return job


def _refresh_is_not_activity(request) -> None:
    """While the page refreshes itself, its requests leave the session as it is.

    An automatic refresh is not the user's activity, so it does not extend the idle timeout (the session is saved
    on every request otherwise). And it writes nothing: on SQLite, a running import holds the one write lock for
    many seconds (10,000 units: ~15 s), and a session write would wait behind it, then fail.
    """
    request.session.save = lambda must_create=False: None


@permission_required(SIGNED_IN)  # the object decides (404 out of sight, 403 refused)
def import_job(request, pk: int):
    """A job's status: refreshes itself while queued or running, then the result with counts and reference."""
    job = import_jobs.sync_with_task(_visible_job(request, pk))
    if job.dry_run and job.status == ImportJob.Status.DONE and job.created_by_id == request.user.pk:
        return redirect("registry:import-review", token=job.token)
    if not job.finished:
        _refresh_is_not_activity(request)
    report = job.report or {}
    errors = report.get("errors", [])
    return render(
        request,
        "registry/import_job.html",
        {
            "job": job,
            "compound": job.compound,
            "report": report,
            "refresh": REFRESH_SECONDS if not job.finished else None,
            "errors": errors[:MAX_SHOWN_ERRORS],
            "more_errors": max(0, report.get("errors_total", len(errors)) - MAX_SHOWN_ERRORS),
            "summary": _summary_rows(report["summary"]) if report.get("summary") else [],
        },
    )


@permission_required(SIGNED_IN)  # the object decides (404 out of sight, 403 refused)
def import_errors_csv(request, pk: int):
    """The list of problems (every bad row, up to 10,000), for fixing the file in Excel."""
    job = _visible_job(request, pk)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["行号 row", "列 column", "问题", "problem"])
    for e in (job.report or {}).get("errors", []):
        writer.writerow(
            [csv_text(v) for v in (e["row"], f"{e['column_zh']} / {e['column_en']}", e["message"], e["message_en"])]
        )
    response = HttpResponse(("\ufeff" + buf.getvalue()).encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="roster-problems-{job.pk}.csv"'
    return response


@permission_required("registry.import_roster")
def import_template(request):
    """A roster workbook with the columns, two example rows and a sheet explaining each column."""
    out = io.BytesIO()
    exporter.write_template(out, sample_rows())
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="roster-template.xlsx"'
    return response


SUMMARY_LABELS = {
    "buildings_new": gettext_lazy("新建楼栋"),
    "entrances_new": gettext_lazy("新建单元"),
    "units_new": gettext_lazy("新增房屋"),
    "units_updated": gettext_lazy("更新面积等信息的房屋"),
    "units_unchanged": gettext_lazy("无变化的房屋"),
    "persons_new": gettext_lazy("新增人员"),
    "persons_matched": gettext_lazy("匹配到已有人员"),
    "persons_updated": gettext_lazy("补全信息的已有人员"),
    "ownerships_new": gettext_lazy("新增产权关系"),
    "ownerships_updated": gettext_lazy("更新的产权关系"),
    "residences_new": gettext_lazy("新增居住关系"),
    "residences_updated": gettext_lazy("更新的居住关系"),
}


def _summary_rows(summary: dict) -> list[tuple[str, int]]:
    return [(label, summary.get(key, 0)) for key, label in SUMMARY_LABELS.items()]


# --- Export --------------------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _export_node(request, node_pk: int) -> tuple[AreaNode, bool]:
    node = get_object_or_404(AreaNode.objects.select_related("level"), pk=node_pk)
    if not request.user.has_perm("registry.export_roster", node):
        raise PermissionDenied
    # Full phones and ID numbers: the permission over the node and the second factor in this session.
    return node, can_unmask(request.user, node) and request.GET.get("masked") != "1"


@permission_required(SIGNED_IN)  # the object decides (404 out of sight, 403 refused)
def export_page(request, node_pk: int):
    node, unmasked = _export_node(request, node_pk)
    return render(request, "registry/export.html", {"node": node, "unmasked": unmasked})


def _filename(node: AreaNode, ext: str) -> str:
    return f"roster-{node.pk}.{ext}"


@permission_required(SIGNED_IN)  # the object decides (404 out of sight, 403 refused)
def export_xlsx(request, node_pk: int):
    node, unmasked = _export_node(request, node_pk)
    exporter.record_export(node, actor=request.user, fmt="xlsx", unmasked=unmasked)
    # openpyxl's write-only sheet spills rows to a temporary file; the finished workbook is sent from disk.
    out = tempfile.TemporaryFile()
    exporter.write_xlsx(exporter.roster_rows(node, unmasked=unmasked), out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=_filename(node, "xlsx"), content_type=XLSX)


@permission_required(SIGNED_IN)  # the object decides (404 out of sight, 403 refused)
def export_csv(request, node_pk: int):
    node, unmasked = _export_node(request, node_pk)
    exporter.record_export(node, actor=request.user, fmt="csv", unmasked=unmasked)
    response = StreamingHttpResponse(
        exporter.iter_csv(exporter.roster_rows(node, unmasked=unmasked)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(node, "csv")}"'
    return response


def export_url(node: AreaNode, fmt: str = "xlsx") -> str:
    return reverse(f"registry:export-{fmt}", kwargs={"node_pk": node.pk})


# Mounted inside the registry's URLs (namespace "registry"), at /registry/import/… and /registry/export/….
urlpatterns = [
    path("import/", import_start, name="import"),
    path("import/template.xlsx", import_template, name="import-template"),
    path("import/job/<int:pk>/", import_job, name="import-job"),
    path("import/job/<int:pk>/problems.csv", import_errors_csv, name="import-problems"),
    path("import/<str:token>/", import_review, name="import-review"),
    path("import/<str:token>/done/", import_done, name="import-done"),
    path("export/<int:node_pk>/", export_page, name="export"),
    path("export/<int:node_pk>.xlsx", export_xlsx, name="export-xlsx"),
    path("export/<int:node_pk>.csv", export_csv, name="export-csv"),
]
