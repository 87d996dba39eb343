"""Staff pages for the roster import (upload → dry-run report → confirm → done) and the roster export.

Between the steps the uploaded file waits in a private file under VAR_DIR/imports/, named by a random token,
bound to the user who uploaded it, and deleted once imported or after an hour. Nothing personal goes into the
audit log; the report kept beside the file holds row numbers, columns and reasons, not cell values.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from gongzhi.core.roles import REGISTRY_EDITORS
from gongzhi.core.rules import scoped
from gongzhi.registry import exporter
from gongzhi.registry.disclosure import can_unmask
from gongzhi.registry.importer import COLUMNS, FORMAT_HELP, MAX_BYTES, RosterFileError, import_roster, sample_rows
from gongzhi.registry.models import AreaNode

STASH_SECONDS = 3600
MAX_SHOWN_ERRORS = 500
COMPOUND_CHOICES_LIMIT = 500
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


# --- The stash: uploaded bytes kept between the dry run and the confirmation ---------------------------


def _stash_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def purge_expired(now: float | None = None) -> None:
    limit = (now or time.time()) - STASH_SECONDS
    for item in _stash_dir().iterdir():
        try:
            if item.stat().st_mtime < limit:
                item.unlink()
        except FileNotFoundError:
            pass


def stash(data: bytes, meta: dict) -> str:
    purge_expired()
    token = secrets.token_urlsafe(24)
    _write_private(_stash_dir() / f"{token}.bin", data)
    save_meta(token, {**meta, "created": time.time()})
    return token


def save_meta(token: str, meta: dict) -> None:
    _write_private(_stash_dir() / f"{token}.json", json.dumps(meta, ensure_ascii=False, default=str).encode())


def load_meta(token: str, user) -> dict:
    """The stashed import of this user; 404 for a wrong, expired or someone else's token."""
    if not _TOKEN.match(token):
        raise Http404
    try:
        meta = json.loads((_stash_dir() / f"{token}.json").read_bytes())
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    if meta.get("user") != user.pk or meta.get("created", 0) < time.time() - STASH_SECONDS:
        raise Http404
    return meta


def load_data(token: str) -> bytes | None:
    try:
        return (_stash_dir() / f"{token}.bin").read_bytes()
    except FileNotFoundError:
        return None


def drop_data(token: str) -> None:
    (_stash_dir() / f"{token}.bin").unlink(missing_ok=True)


# --- Pages -----------------------------------------------------------------------------------------------


def importable_compounds(user, q: str = ""):
    qs = scoped(AreaNode.objects.filter(level__is_compound=True), user, REGISTRY_EDITORS).order_by("path")
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


def _require_importer(user) -> None:
    if not user.has_perm("registry.import_roster"):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request):
    _require_importer(request.user)
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
        try:
            report = import_roster(compound, data, actor=request.user, dry_run=True, skip_bad_rows=skip)
        except RosterFileError as e:
            form.add_error("file", f"{e.zh} / {e.en}")
        else:
            meta = {
                "user": request.user.pk,
                "compound": compound.pk,
                "filename": upload.name[:200],
                "skip": skip,
                "report": report.as_dict(),
                "result": None,
            }
            token = stash(data, meta)
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


@login_required
@require_http_methods(["GET", "POST"])
def import_review(request, token: str):
    meta = load_meta(token, request.user)
    if meta.get("result"):
        return redirect("registry:import-done", token=token)
    compound = get_object_or_404(AreaNode, pk=meta["compound"])
    report = meta["report"]
    problem = ""
    if request.method == "POST":
        data = load_data(token)
        if data is None:
            raise Http404
        skip = bool(request.POST.get("skip_bad_rows"))
        result = import_roster(compound, data, actor=request.user, dry_run=False, skip_bad_rows=skip)
        if result.written:
            drop_data(token)
            meta["result"] = result.as_dict()
            save_meta(token, meta)
            return redirect("registry:import-done", token=token)
        report, meta["skip"] = result.as_dict(), skip
        problem = _("文件中有问题的行，未导入任何数据。请修改文件后重新上传，或勾选“跳过有问题的行”。")
    errors = report["errors"]
    return render(
        request,
        "registry/import_report.html",
        {
            "token": token,
            "meta": meta,
            "compound": compound,
            "report": report,
            "problem": problem,
            "errors": errors[:MAX_SHOWN_ERRORS],
            "more_errors": max(0, len(errors) - MAX_SHOWN_ERRORS),
            "summary": _summary_rows(report["summary"]),
        },
    )


@login_required
def import_done(request, token: str):
    meta = load_meta(token, request.user)
    if not meta.get("result"):
        return redirect("registry:import-review", token=token)
    compound = get_object_or_404(AreaNode, pk=meta["compound"])
    result = meta["result"]
    return render(
        request,
        "registry/import_done.html",
        {
            "meta": meta,
            "compound": compound,
            "result": result,
            "summary": _summary_rows(result["summary"]),
        },
    )


@login_required
def import_errors_csv(request, token: str):
    """The full list of problems (every bad row), for fixing the file in Excel."""
    meta = load_meta(token, request.user)
    report = meta.get("result") or meta["report"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["行号 row", "列 column", "问题", "problem"])
    for e in report["errors"]:
        writer.writerow([e["row"], f"{e['column_zh']} / {e['column_en']}", e["message"], e["message_en"]])
    response = HttpResponse(("\ufeff" + buf.getvalue()).encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="roster-problems.csv"'
    return response


@login_required
def import_template(request):
    """A roster workbook with the columns, two example rows and a sheet explaining each column."""
    _require_importer(request.user)
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


@login_required
def export_page(request, node_pk: int):
    node, unmasked = _export_node(request, node_pk)
    return render(request, "registry/export.html", {"node": node, "unmasked": unmasked})


def _filename(node: AreaNode, ext: str) -> str:
    return f"roster-{node.pk}.{ext}"


@login_required
def export_xlsx(request, node_pk: int):
    node, unmasked = _export_node(request, node_pk)
    exporter.record_export(node, actor=request.user, fmt="xlsx", unmasked=unmasked)
    # openpyxl's write-only sheet spills rows to a temporary file; the finished workbook is sent from disk.
    out = tempfile.TemporaryFile()
    exporter.write_xlsx(exporter.roster_rows(node, unmasked=unmasked), out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=_filename(node, "xlsx"), content_type=XLSX)


@login_required
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
    path("import/<str:token>/", import_review, name="import-review"),
    path("import/<str:token>/done/", import_done, name="import-done"),
    path("import/<str:token>/problems.csv", import_errors_csv, name="import-problems"),
    path("export/<int:node_pk>/", export_page, name="export"),
    path("export/<int:node_pk>.xlsx", export_xlsx, name="export-xlsx"),
    path("export/<int:node_pk>.csv", export_csv, name="export-csv"),
]
