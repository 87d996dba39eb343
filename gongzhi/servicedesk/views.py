"""Service-desk pages.

Anyone: the rating page (the SMS link) and the public board. Residents: report and follow their requests.
Operators: the hotline screen and the follow-up calls. Takers: orders near them. Dispatchers: the queue, an
order's page with its moves, the dashboard and its export. Every page asks the gate; every change is an action.
"""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gongzhi.servicedesk import actions, machine
from gongzhi.servicedesk.actions import DeskError
from gongzhi.servicedesk.forms import RatingForm
from gongzhi.servicedesk.models import ServiceRequest


def _message(request, title, text="", status=200, **extra):
    return render(request, "servicedesk/message.html", {"title": title, "text": text, **extra}, status=status)


@require_http_methods(["GET", "POST"])
def rate(request, key: str):
    """评价 — reached by the link in the completion SMS; no sign-in; one rating per order."""
    req = ServiceRequest.objects.select_related("category", "compound", "node").filter(rating_key=key).first()
    if req is None:
        return _message(request, _("评价链接无效"), status=404)
    if not machine.allowed("rate", req.status):
        return _message(request, _("该工单已评价，谢谢") if req.rated_at else _("该工单尚未办结，暂不能评价"))
    form = RatingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.rate_by_key(
                key, satisfaction=form.cleaned_data["satisfaction"], comment=form.cleaned_data["comment"]
            )
        except DeskError as e:
            form.add_error(None, e.shown)
        else:
            return _message(request, _("感谢您的评价"))
    return render(request, "servicedesk/rate.html", {"req": req, "form": form}, status=400 if form.errors else 200)
