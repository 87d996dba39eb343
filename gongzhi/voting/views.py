"""Voting pages. Staff: call, publish, open, close, certify; roll, turnout, result. Residents (GOV.UK style, one
question per page): confirm identity by SMS → choose → check → confirmation with the receipt code. Workers:
find the owner → channel, choice, document → check → confirmation. Anyone: check a receipt code.

Permissions are decided by the predicates in rules.py; every change goes through actions.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core import audit, pii, sms
from gongzhi.core.gate import allows, permission_required
from gongzhi.core.models import Upload
from gongzhi.core.rows import Read
from gongzhi.core.rules import scoped
from gongzhi.core.uploads import UploadError
from gongzhi.notices.actions import NoticeError
from gongzhi.registry.models import UnitSet
from gongzhi.voting import actions, receipts, selectors
from gongzhi.voting import notices as vote_notices
from gongzhi.voting.actions import VoteError
from gongzhi.voting.forms import CallVoteForm, ChoiceForm, CodeForm, ReceiptForm, WorkerBallotForm
from gongzhi.voting.models import Ballot, BallotLogEntry, Vote, VoterRollEntry

IDENTITY_MINUTES = 30  # an SMS confirmation is good for this long


class _Login(Exception):
    pass


def _vote(pk: int) -> Vote:
    return get_object_or_404(Vote.objects.select_related("scope"), pk=pk)


def _check(request, perm: str, vote: Vote) -> None:
    if request.user.has_perm(perm, vote):
        return
    if not request.user.is_authenticated:
        raise _Login
    raise PermissionDenied


def guarded(view):
    """Turn a missing sign-in into the sign-in page, not a 403."""

    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except _Login:
            return redirect_to_login(request.get_full_path())

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _post(request):
    """Bind a form on POST even when the body is empty (an empty QueryDict is falsy)."""
    return request.POST if request.method == "POST" else None


def _int(value, default: int = 0) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default


# ------------------------------------------------------------------------------------------ staff


@login_required
def vote_list(request):
    """Votes in the worker's scope, newest first, paged by key (?before=<id>)."""
    if not allows(request.user, "voting.view_vote_list"):
        return redirect("voting:mine")
    qs = scoped(Vote.objects.select_related("scope"), request.user, "staff", field="path").order_by("-id")
    before = _int(request.GET.get("before"))
    if before:
        qs = qs.filter(pk__lt=before)
    votes = list(qs[:51])
    more = votes[49].pk if len(votes) > 50 else None
    return render(
        request,
        "voting/list.html",
        {"votes": votes[:50], "before": more, "can_call": request.user.has_perm("voting.add_vote", None)},
    )


@permission_required("voting.add_vote")
@require_http_methods(["GET", "POST"])
def call_vote(request):
    unit_sets = scoped(UnitSet.objects.select_related("scope"), request.user, "staff", field="scope__path")
    form = CallVoteForm(
        _post(request),
        unit_sets=unit_sets.order_by("-id"),
        initial={"matter_ref": request.GET.get("matter_ref", ""), "subject": request.GET.get("subject", "")},
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        pct = d.get("consent_percent") or 80
        try:
            vote = actions.call_vote(
                actor=request.user,
                kind=d["kind"],
                subject=d["subject"],
                matter=d["matter"] or "",
                unit_set=d["unit_set"],
                opens_at=d["opens_at"],
                closes_at=d["closes_at"],
                notice_days=d["notice_days"],
                description=d["description"],
                matter_ref=d["matter_ref"],
                consent=(pct, 100),
            )
        except VoteError as e:
            form.add_error(e.field if e.field in form.fields else None, str(e))
        else:
            messages.success(request, _("表决已发起，名册已冻结。请核对名册后公示。"))
            return redirect("voting:detail", pk=vote.pk)
    today = timezone.localdate()
    ends, earliest = actions.notice_schedule(today, 15)
    return render(
        request, "voting/call.html", {"form": form, "notice_ends": ends, "earliest": earliest, "today": today}
    )


@guarded
def detail(request, pk: int):
    vote = _vote(pk)
    _check(request, "voting.view_vote", vote)
    can_manage = request.user.has_perm("voting.manage_vote", vote)
    today = timezone.localdate()
    ends, earliest = actions.notice_schedule(today, vote.notice_days)
    return render(
        request,
        "voting/detail.html",
        {
            "vote": vote,
            "turnout": selectors.turnout(vote, by_building=False),
            "can_manage": can_manage,
            "can_enter": request.user.has_perm("voting.enter_ballot", vote) and vote.status == Vote.Status.OPEN,
            "can_roll": request.user.has_perm("voting.view_roll", vote),
            "can_data": request.user.has_perm("voting.download_data", vote) and vote.kind == Vote.Kind.OWNER,
            "if_published_today": (ends, earliest),
            "matter": vote.matter_enum,
        },
    )


_STEPS = {
    "publish": actions.publish_roll,
    "open": actions.open_vote,
    "close": actions.close_vote,
    "certify": actions.certify_result,
}


@require_POST
@guarded
def step(request, pk: int, step: str):
    vote = _vote(pk)
    if step not in _STEPS:
        raise Http404
    _check(request, "voting.manage_vote", vote)
    try:
        _STEPS[step](vote, actor=request.user)
    except VoteError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, _("已完成：%(status)s") % {"status": vote.get_status_display()})
    return redirect("voting:detail", pk=vote.pk)


@guarded
def roll(request, pk: int):
    """The frozen voter roll: units, areas, headcount, masked names; paged by roll number."""
    vote = _vote(pk)
    _check(request, "voting.view_roll", vote)
    with_voted = request.user.has_perm("voting.enter_ballot", vote) and vote.status != Vote.Status.DRAFT
    q = (request.GET.get("q") or "").strip()[:30]
    rows, nxt = selectors.roll_page(vote, after=_int(request.GET.get("after")), q=q, with_voted=with_voted)
    return render(
        request, "voting/roll.html", {"vote": vote, "rows": rows, "next": nxt, "q": q, "with_voted": with_voted}
    )


@guarded
def turnout(request, pk: int):
    vote = _vote(pk)
    _check(request, "voting.view_vote", vote)
    return render(request, "voting/turnout.html", {"vote": vote, "t": selectors.turnout(vote)})


@guarded
def result(request, pk: int):
    """Figures for everyone; who voted how only for the compound's owners and supervising staff, after closing."""
    vote = _vote(pk)
    _check(request, "voting.view_vote", vote)
    ctx = {"vote": vote, "r": selectors.result_view(vote), "t": selectors.turnout(vote, by_building=False)}
    if request.user.has_perm("voting.view_ballots", vote):
        rows, nxt = selectors.roll_page(vote, after=_int(request.GET.get("after")), with_choice=True)
        audit.record(
            "pii.view",
            vote,
            actor=request.user,
            changes={"fields": ["ballot_choices"], "page_after": request.GET.get("after", "0")},
        )
        ctx.update(
            {
                "ballots": rows,
                "next": nxt,
                "choices": dict(Ballot.Choice.choices),
                "channels": dict(Ballot.Channel.choices),
                "can_data": vote.kind == Vote.Kind.OWNER,
            }
        )
    return render(request, "voting/result.html", ctx)


@guarded
def verify(request, pk: int):
    """For auditors, owners and supervising staff: what the recount file holds and how to recount it alone."""
    vote = _vote(pk)
    _check(request, "voting.download_data", vote)
    if vote.kind != Vote.Kind.OWNER:
        raise Http404
    return render(request, "voting/verify.html", {"vote": vote})


@guarded
def data_file(request, pk: int):
    """The recount file (python -m gongzhi.voting.recount FILE) for owners and supervising staff."""
    vote = _vote(pk)
    _check(request, "voting.download_data", vote)
    if vote.kind != Vote.Kind.OWNER:
        raise Http404
    audit.record("voting.download_data", vote, actor=request.user, changes={"fields": ["ballot_choices"]})
    body = json.dumps(selectors.data_file(vote), ensure_ascii=False, indent=1)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="vote-{vote.pk}.json"'
    return response


@require_http_methods(["GET"])
def receipt(request, pk: int):
    """Anyone may check a receipt code: counted as cast at <time>, entry #n; the voter also sees the choice."""
    vote = _vote(pk)
    if not vote.roll_is_public:
        raise Http404
    form = ReceiptForm(request.GET or None)
    found, tried = None, False
    if form.is_valid():
        tried = True
        found = selectors.check_receipt(form.cleaned_data["code"], vote=vote, user=request.user)
    return render(
        request,
        "voting/receipt.html",
        {"vote": vote, "form": form, "found": found, "tried": tried, "choices": dict(Ballot.Choice.choices)},
    )


def log(request, pk: int):
    """The public ballot log: sequence, time, opaque head token, commitment and leaf hash — never a choice — and
    the latest signed tree head with the log's public key."""
    vote = _vote(pk)
    if not vote.roll_is_public:
        raise Http404
    rows, nxt = selectors.log_page(vote, after=_int(request.GET.get("after")))
    context = {"vote": vote, "rows": rows, "next": nxt, "head": selectors.latest_head(vote)}
    context["public_key"] = receipts.public_key() if context["head"] else ""
    return render(request, "voting/log.html", context)


@require_http_methods(["GET"])
def receipt_proof(request, pk: int):
    """A receipt's inclusion proof as a JSON file, to check with `python -m gongzhi.voting.merkle` (anyone)."""
    vote = _vote(pk)
    if not vote.roll_is_public:
        raise Http404
    code = request.GET.get("code", "")
    if receipts.normalize_code(code) is None:
        message = _("回执码应为12位字母和数字，例如 7K3M-Q9TD-2XHB")
        return JsonResponse({"field": "code", "message": message}, status=400)
    proof = selectors.receipt_proof(code, vote=vote)
    if proof is None:
        raise Http404
    body = json.dumps(proof, ensure_ascii=False, indent=1)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="receipt-proof-{vote.pk}-{proof["index"] + 1}.json"'
    return response


# -------------------------------------------------------------------------------------- residents


@login_required
def mine(request):
    """您的投票 — the votes on whose roll the signed-in resident stands."""
    votes = []
    if request.user.person_id:
        votes = list(
            Vote.objects.filter(roll__voter_id=request.user.person_id)
            .exclude(status=Vote.Status.DRAFT)
            .order_by("-id")[:50]
        )
    return render(request, "voting/mine.html", {"votes": votes})


def _session(request, pk: int) -> dict:
    return request.session.setdefault(f"vote-{pk}", {})


def _confirmed(state: dict) -> bool:
    at = parse_datetime(state.get("confirmed_at", "") or "")
    return bool(at) and timezone.now() - at < timedelta(minutes=IDENTITY_MINUTES)


# The signed-in resident's head on a vote's roll, with its vote and scope and `voted` (has a ballot): read on every
# step of an online ballot, so its SQL is built once (core.rows.Read).
_OWN_ENTRY = Read(
    VoterRollEntry,
    "t.vote_id = %s AND t.voter_id = %s",
    related=("vote__scope",),
    annotate={"voted": ("EXISTS (SELECT 1 FROM voting_ballot b WHERE b.roll_entry_id = t.id)", bool)},
    order_by="t.id",
    limit=1,
)


def _own_entry(request, pk: int) -> VoterRollEntry | None:
    """The signed-in resident's head on the roll of vote `pk`, with its vote and `voted` (has a ballot): one query."""
    if not request.user.person_id:
        return None
    return _OWN_ENTRY.first(pk, request.user.person_id)


def _resident_gate(request, pk: int):
    """Common checks of the resident's steps: on the roll, not yet voted, voting open. Returns (vote, entry, page);
    404 if there is no such vote."""
    entry = _own_entry(request, pk)
    if entry is None:
        vote = _vote(pk)
        page = render(request, "voting/resident_message.html", {"vote": vote, "kind": "not_on_roll"}, status=403)
        return vote, None, page
    vote = entry.vote
    ballot = Ballot.objects.filter(roll_entry=entry).first() if entry.voted else None
    if ballot is not None:
        code = (
            BallotLogEntry.objects.filter(vote=vote, roll_token=entry.token)
            .values_list("receipt_code", flat=True)
            .first()
        )
        return (
            vote,
            None,
            render(
                request,
                "voting/resident_message.html",
                {
                    "vote": vote,
                    "kind": "voted",
                    "ballot": ballot,
                    "receipt": code and receipts.format_code(code),
                },
            ),
        )
    now = timezone.now()
    if vote.status != Vote.Status.OPEN or not (vote.opens_at <= now < vote.closes_at):
        return vote, None, render(request, "voting/resident_message.html", {"vote": vote, "kind": "closed"})
    return vote, entry, None


def _voter_phone(request, entry: VoterRollEntry) -> str:
    for raw in (entry.voter.phone if entry.voter else "", request.user.phone):
        try:
            return pii.normalize_mobile(raw)
        except pii.PiiError:
            continue
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def resident_start(request, pk: int):
    vote, entry, page = _resident_gate(request, pk)
    if page:
        return page
    phone = _voter_phone(request, entry)
    if request.method == "POST":
        if not phone:
            messages.error(request, _("您的登记信息中没有手机号，请拨打热线或请社区工作人员上门代录。"))
            return redirect("voting:resident-start", pk=pk)
        try:
            sms.issue_code(phone, "vote")
        except sms.CodeError as e:
            messages.info(request, str(e))
        return redirect("voting:resident-code", pk=pk)
    if _confirmed(_session(request, vote.pk)):
        return redirect("voting:resident-choice", pk=pk)
    return render(
        request,
        "voting/resident_start.html",
        {"vote": vote, "entry": entry, "phone": pii.mask_phone(phone), "matter": vote.matter_enum},
    )


@login_required
@require_http_methods(["GET", "POST"])
def resident_code(request, pk: int):
    vote, entry, page = _resident_gate(request, pk)
    if page:
        return page
    form = CodeForm(_post(request))
    if request.method == "POST" and form.is_valid():
        if sms.check_code(_voter_phone(request, entry), "vote", form.cleaned_data["code"]):
            state = _session(request, vote.pk)
            state["confirmed_at"] = timezone.now().isoformat()
            request.session.modified = True
            audit.record("voting.confirm_identity", vote, actor=request.user, on_behalf_of=entry.voter, channel="sms")
            return redirect("voting:resident-choice", pk=pk)
        form.add_error("code", _("验证码不正确或已过期 / the code is wrong or has expired"))
    return render(
        request,
        "voting/resident_code.html",
        {"vote": vote, "form": form, "phone": pii.mask_phone(_voter_phone(request, entry))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def resident_choice(request, pk: int):
    vote, entry, page = _resident_gate(request, pk)
    if page:
        return page
    state = _session(request, vote.pk)
    if not _confirmed(state):
        return redirect("voting:resident-start", pk=pk)
    form = ChoiceForm(_post(request), initial={"choice": state.get("choice")})
    if request.method == "POST" and form.is_valid():
        state["choice"] = form.cleaned_data["choice"]
        request.session.modified = True
        return redirect("voting:resident-check", pk=pk)
    return render(request, "voting/resident_choice.html", {"vote": vote, "form": form, "matter": vote.matter_enum})


@login_required
@require_http_methods(["GET", "POST"])
def resident_check(request, pk: int):
    state = _session(request, pk)
    if request.method == "POST" and state.get("receipt") and request.POST.get("token") == state.get("key"):
        return redirect("voting:resident-done", pk=pk)  # a double-click after success: show the first result
    vote, entry, page = _resident_gate(request, pk)
    if page:
        return page
    if not _confirmed(state):
        return redirect("voting:resident-start", pk=pk)
    if state.get("choice") not in Ballot.Choice.values:
        return redirect("voting:resident-choice", pk=pk)
    if not state.get("key"):
        state["key"] = uuid.uuid4().hex
        request.session.modified = True
    if request.method == "POST":
        try:
            result = actions.cast_ballot(
                vote,
                entry,
                actor=request.user,
                choice=state["choice"],
                channel=Ballot.Channel.ONLINE,
                idempotency_key=request.POST.get("token", "")[:64] or state["key"],
                identity_confirmed=True,
            )
        except VoteError as e:
            messages.error(request, str(e))
            return redirect("voting:resident-start", pk=pk)
        state.update({"receipt": result.receipt, "seq": result.entry.seq})
        request.session.modified = True
        return redirect("voting:resident-done", pk=pk)
    return render(
        request,
        "voting/resident_check.html",
        {
            "vote": vote,
            "entry": entry,
            "choice": Ballot.Choice(state["choice"]).label,
            "token": state["key"],
        },
    )


@login_required
def resident_done(request, pk: int):
    vote = _vote(pk)
    state = _session(request, vote.pk)
    if not state.get("receipt"):
        return redirect("voting:resident-start", pk=pk)
    return render(
        request, "voting/resident_done.html", {"vote": vote, "receipt": state["receipt"], "seq": state["seq"]}
    )


# ---------------------------------------------------------------------------------------- workers


@guarded
def enter_find(request, pk: int):
    """代录选票 step 1: find the owner by unit number, or pick from the masked roll."""
    vote = _vote(pk)
    _check(request, "voting.enter_ballot", vote)
    q = (request.GET.get("q") or "").strip()[:30]
    rows, nxt = selectors.roll_page(vote, after=_int(request.GET.get("after")), q=q, with_voted=True, size=50)
    return render(request, "voting/enter_find.html", {"vote": vote, "rows": rows, "next": nxt, "q": q})


def _entry(vote: Vote, token: str) -> VoterRollEntry:
    return get_object_or_404(VoterRollEntry, vote=vote, token=token)


@guarded
@require_http_methods(["GET", "POST"])
def enter_form(request, pk: int, token: str):
    vote = _vote(pk)
    _check(request, "voting.enter_ballot", vote)
    entry = _entry(vote, token)
    existing = Ballot.objects.filter(roll_entry=entry).first()
    form = WorkerBallotForm(_post(request), request.FILES if request.method == "POST" else None)
    if existing is None and request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        upload_key = ""
        if d.get("attachment"):
            try:
                upload = actions.attach_ballot_document(
                    vote, actor=request.user, data=d["attachment"].read(), name=d["attachment"].name
                )
            except UploadError as e:
                form.add_error("attachment", str(e))
            else:
                upload_key = str(upload.key)
        if not form.errors:
            request.session[f"enter-{vote.pk}-{token}"] = {
                "channel": d["channel"],
                "choice": d["choice"],
                "proxy_name": d.get("proxy_name", "").strip(),
                "upload": upload_key,
                "key": uuid.uuid4().hex,
            }
            return redirect("voting:enter-check", pk=pk, token=token)
    return render(request, "voting/enter_form.html", {"vote": vote, "entry": entry, "form": form, "existing": existing})


@guarded
@require_http_methods(["GET", "POST"])
def enter_check(request, pk: int, token: str):
    vote = _vote(pk)
    _check(request, "voting.enter_ballot", vote)
    entry = _entry(vote, token)
    pending = request.session.get(f"enter-{vote.pk}-{token}")
    if not pending:
        return redirect("voting:enter-form", pk=pk, token=token)
    if request.method == "POST":
        attachment = Upload.objects.filter(key=pending["upload"]).first() if pending["upload"] else None
        try:
            result = actions.cast_ballot(
                vote,
                entry,
                actor=request.user,
                choice=pending["choice"],
                channel=pending["channel"],
                idempotency_key=request.POST.get("token", "")[:64] or pending["key"],
                attachment=attachment,
                proxy_name=pending["proxy_name"],
            )
        except VoteError as e:
            messages.error(request, str(e))
            return redirect("voting:enter-form", pk=pk, token=token)
        request.session[f"entered-{vote.pk}"] = {
            "receipt": result.receipt,
            "seq": result.entry.seq,
            "label": entry.units_label,
        }
        request.session.pop(f"enter-{vote.pk}-{token}", None)
        return redirect("voting:enter-done", pk=pk)
    return render(
        request,
        "voting/enter_check.html",
        {
            "vote": vote,
            "entry": entry,
            "pending": pending,
            "choice": Ballot.Choice(pending["choice"]).label,
            "channel": Ballot.Channel(pending["channel"]).label,
        },
    )


@guarded
def enter_done(request, pk: int):
    vote = _vote(pk)
    _check(request, "voting.enter_ballot", vote)
    done = request.session.get(f"entered-{vote.pk}")
    if not done:
        return redirect("voting:enter", pk=pk)
    return render(
        request,
        "voting/enter_done.html",
        {"vote": vote, "done": done, "receipt_url": reverse("voting:receipt", args=[vote.pk])},
    )


@login_required
@require_POST
def post_notice(request, vote_id: int, kind: str):
    """Post the voter-roll or result notice of a vote (buttons for the voting pages)."""
    builder = {"roll": vote_notices.build_roll_notice, "result": vote_notices.build_result_notice}.get(kind)
    if builder is None:
        raise Http404
    try:
        notice = builder(vote_id, actor=request.user)
    except NoticeError as e:
        messages.error(request, str(e))
        return redirect("notices:list")
    except ObjectDoesNotExist:
        raise Http404
    return redirect("notices:detail", pk=notice.pk)
