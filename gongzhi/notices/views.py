"""Notice pages: the public list and page (no sign-in, masked names only), the PDF download, staff actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core import audit
from gongzhi.notices import actions, selectors
from gongzhi.notices.actions import NoticeError
from gongzhi.notices.forms import NoticeForm, WithdrawForm
from gongzhi.notices.models import Notice
from gongzhi.notices.tasks import render_notice_pdf
from gongzhi.registry.models import AreaNode

ROLL_PAGE = 200


def _after(request) -> int:
    try:
        return max(int(request.GET.get("after") or 0), 0)
    except ValueError:
        return 0


def _visible(request, pk: int) -> Notice:
    notice = get_object_or_404(Notice.objects.select_related("node"), pk=pk)
    if not request.user.has_perm("notices.view_notice", notice):
        raise Http404
    return notice


@require_GET
def notice_list(request):
    after = _after(request)
    if request.user.is_authenticated and request.GET.get("mine") == "1":
        rows = selectors.staff_notices(request.user, after=after)
    else:
        rows = selectors.public_notices(after=after)
    next_after = rows[-1].pk if len(rows) == selectors.PAGE else None
    return render(
        request,
        "notices/list.html",
        {"notices": rows, "next_after": next_after, "mine": request.GET.get("mine") == "1"},
    )


@require_GET
def notice_detail(request, pk: int):
    notice = _visible(request, pk)
    roll_after = _after(request)
    tables = selectors.rendered_tables(notice, roll_limit=ROLL_PAGE, roll_after=roll_after)
    roll_next = None
    for t in tables:
        if t.get("roll") and len(t["rows"]) == ROLL_PAGE:
            roll_next = t["rows"][-1][0]
    return render(
        request,
        "notices/detail.html",
        {
            "notice": notice,
            "tables": tables,
            "roll_next": roll_next,
            "can_change": request.user.has_perm("notices.change_notice", notice),
            "withdraw_form": WithdrawForm(),
            "checkpoint": audit.latest_printed(),  # the bulletin board keeps the audit log's head (core.audit)
        },
    )


@require_GET
def notice_pdf(request, pk: int):
    """Serve the cached PDF; if it is missing or stale, queue it and say so (the page refreshes by hand)."""
    notice = _visible(request, pk)
    if notice.pdf_is_current:
        response = FileResponse(notice.pdf.open("rb"), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{notice.reference}.pdf"'
        return response
    render_notice_pdf.enqueue(notice.pk)
    return render(request, "notices/pdf_pending.html", {"notice": notice}, status=202)


def _staff_node(request) -> AreaNode:
    try:
        node = AreaNode.objects.get(pk=int(request.GET.get("node") or request.POST.get("node") or 0))
    except (ValueError, AreaNode.DoesNotExist):
        raise Http404
    if not request.user.has_perm("notices.publish_notice", node):
        raise PermissionDenied
    return node


@login_required
@require_http_methods(["GET", "POST"])
def notice_new(request):
    node = _staff_node(request)
    form = NoticeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            notice = actions.publish_notice(
                actor=request.user,
                kind=d["kind"],
                title=d["title"],
                body=d["body"],
                node=node,
                days=d.get("days"),
                meeting_on=d.get("meeting_on"),
            )
        except NoticeError as e:
            form.add_error(e.field if e.field in form.fields else None, str(e))
        else:
            messages.success(request, _("公示已发布，编号 %(ref)s") % {"ref": notice.reference})
            return redirect("notices:detail", pk=notice.pk)
    return render(request, "notices/new.html", {"form": form, "node": node})


@login_required
@require_POST
def notice_withdraw(request, pk: int):
    notice = get_object_or_404(Notice, pk=pk)
    if not request.user.has_perm("notices.change_notice", notice):
        raise PermissionDenied
    form = WithdrawForm(request.POST)
    if form.is_valid():
        actions.withdraw_notice(notice, actor=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, _("公示已撤回"))
    else:
        messages.error(request, _("请填写撤回理由"))
    return redirect("notices:detail", pk=notice.pk)
