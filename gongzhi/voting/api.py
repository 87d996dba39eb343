"""Voting API: votes and their figures, turnout, worker ballot entry (idempotent), receipt checks.

GET  /api/v1/votes/                      votes the caller may see (staff: their scope; residents: their rolls)
GET  /api/v1/votes/{id}/                 figures: totals, turnout, result with the deciding rule
GET  /api/v1/votes/{id}/turnout/         participating area and heads against the quorum, by building
POST /api/v1/votes/{id}/ballots/         a worker enters a ballot; `Idempotency-Key` header required
GET  /api/v1/receipts/{code}/            counted as cast at <time>, entry #n (anyone)
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from gongzhi.core.api import GENERIC, error_responses
from gongzhi.core.gate import GatePermission, check
from gongzhi.core.idempotency import replayed
from gongzhi.core.ids import parse_id
from gongzhi.core.rows import Read
from gongzhi.core.rules import SIGNED_IN, scope_q
from gongzhi.core.uploads import UploadError
from gongzhi.voting import actions, selectors
from gongzhi.voting.actions import VoteError
from gongzhi.voting.models import Ballot, Vote, VoterRollEntry


def error(status_code: int, field: str | None, zh: str, en: str, code: str = "invalid") -> Response:
    zh_g, en_g = GENERIC.get(status_code, ("请求失败", "request failed"))
    return Response(
        {
            "status": status_code,
            "message": zh_g,
            "message_en": en_g,
            "errors": [{"field": field, "message": zh, "message_en": en, "code": code}],
        },
        status=status_code,
    )


def vote_error(e: VoteError) -> Response:
    return error(e.status, e.field, e.zh, e.en, e.code)


class ShareSerializer(serializers.Serializer):
    part = serializers.CharField()
    whole = serializers.CharField()
    fraction = serializers.CharField(help_text="exact ratio a/b")
    percent = serializers.CharField()
    met = serializers.BooleanField(allow_null=True, help_text="quorum bound reached (null: no quorum rule)")


def share(s) -> dict:
    return {"part": str(s.part), "whole": str(s.whole), "fraction": s.fraction, "percent": s.percent, "met": s.met}


class TurnoutSerializer(serializers.Serializer):
    quorum = serializers.CharField()
    area = ShareSerializer()
    heads = ShareSerializer()
    buildings = serializers.ListField(
        child=inline_serializer(
            "BuildingTurnout",
            {"building": serializers.CharField(), "area": ShareSerializer(), "heads": ShareSerializer()},
        )
    )


def turnout_data(vote: Vote, by_building: bool = True) -> dict:
    t = selectors.turnout(vote, by_building=by_building)
    return {
        "quorum": t["quorum"],
        "area": share(t["area"]),
        "heads": share(t["heads"]),
        "buildings": [
            {"building": b["building"], "area": share(b["area"]), "heads": share(b["heads"])} for b in t["buildings"]
        ],
    }


class ConditionSerializer(serializers.Serializer):
    label_zh = serializers.CharField()
    label_en = serializers.CharField()
    kind = serializers.CharField(help_text="quorum or decision")
    numerator = serializers.CharField()
    denominator = serializers.CharField()
    threshold = serializers.CharField()
    fraction = serializers.CharField()
    percent = serializers.CharField()
    met = serializers.BooleanField()


class ResultSerializer(serializers.Serializer):
    passed = serializers.BooleanField()
    quorum_met = serializers.BooleanField()
    rule = serializers.CharField()
    rule_zh = serializers.CharField()
    rule_en = serializers.CharField()
    conditions = ConditionSerializer(many=True)
    reasons_zh = serializers.ListField(child=serializers.CharField())
    reasons_en = serializers.ListField(child=serializers.CharField())


class VoteSerializer(serializers.ModelSerializer):
    scope_name = serializers.CharField(source="scope.name", read_only=True)

    class Meta:
        model = Vote
        fields = [
            "id",
            "subject",
            "kind",
            "matter",
            "matter_ref",
            "status",
            "scope",
            "scope_name",
            "notice_days",
            "roll_published_at",
            "notice_ends_on",
            "opens_at",
            "closes_at",
            "closed_at",
            "certified_at",
            "total_heads",
            "total_units",
            "total_area",
            "ballot_count",
            "participating_area",
            "passed",
        ]


class VoteDetailSerializer(VoteSerializer):
    turnout = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()

    class Meta(VoteSerializer.Meta):
        fields = VoteSerializer.Meta.fields + ["turnout", "result"]

    @extend_schema_field(TurnoutSerializer)
    def get_turnout(self, vote) -> dict:
        return turnout_data(vote, by_building=False)

    @extend_schema_field(ResultSerializer(allow_null=True))
    def get_result(self, vote) -> dict | None:
        view = selectors.result_view(vote)
        if view is None:
            return None
        view = dict(view)
        view.pop("recount", None)
        view["conditions"] = [c.__dict__ for c in view["conditions"]]
        return ResultSerializer(view).data  # as documented: head counts and fractions as strings


class BallotInSerializer(serializers.Serializer):
    roll_token = serializers.CharField(max_length=16, help_text="the head's token (from the roll page or worker list)")
    choice = serializers.ChoiceField(choices=Ballot.Choice.choices)
    channel = serializers.ChoiceField(choices=[c for c in Ballot.Channel.choices if c[0] != "online"])
    proxy_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    attachment = serializers.FileField(required=False, help_text="paper-ballot scan or signed proxy form (multipart)")


class BallotOutSerializer(serializers.Serializer):
    receipt = serializers.CharField(help_text="XXXX-XXXX-XXXX")
    log_seq = serializers.IntegerField(
        allow_null=True, help_text="the entry's number in the ballot log; null until sealed (seconds, in a burst)"
    )
    cast_at = serializers.DateTimeField()
    channel = serializers.CharField()
    created = serializers.BooleanField(help_text="false when an idempotent retry returned the first result")


class ReceiptSerializer(serializers.Serializer):
    vote = serializers.IntegerField()
    subject = serializers.CharField()
    receipt = serializers.CharField()
    log_seq = serializers.IntegerField(allow_null=True, help_text="null until the entry is sealed")
    recorded_at = serializers.DateTimeField()
    choice = serializers.CharField(allow_null=True, help_text="only for the signed-in voter of this ballot")


IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="unique per ballot submission; a retry with the same key returns the first result",
)


# Read on every API ballot (core.rows.Read: the SQL built once).
_VOTE = Read(Vote, "t.id = %s")
_ROLL_ENTRY = Read(VoterRollEntry, "t.vote_id = %s AND t.token = %s")  # (vote, token) is unique


class VoteViewSet(viewsets.GenericViewSet):
    queryset = Vote.objects.select_related("scope")
    serializer_class = VoteSerializer
    permission_classes = [GatePermission]
    # Any signed-in reader; each vote then decides (404 out of sight, 403 for ballots one may not enter).
    gate_perms = {"list": SIGNED_IN, "retrieve": SIGNED_IN, "turnout": SIGNED_IN, "ballots": SIGNED_IN}
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        user = self.request.user
        qs = Vote.objects.select_related("scope").order_by("id")
        if user.is_superuser:
            return qs
        visible = Q(pk__in=[])
        for capability in ("voting.supervise", "voting.enter_ballots"):
            visible |= scope_q(user, capability, "path") or Q()
        if user.person_id:
            visible |= Q(roll__voter_id=user.person_id) & ~Q(status=Vote.Status.DRAFT)
        return qs.filter(visible).distinct()

    def _vote(self, pk, related: tuple[str, ...] = ("scope",)) -> Vote:
        if related:
            vote = get_object_or_404(Vote.objects.select_related(*related), pk=pk)
        else:  # the ballot path: the vote's row alone, its SQL built once
            vote_id = parse_id(pk)
            vote = _VOTE.first(vote_id) if vote_id else None
            if vote is None:
                raise Http404
        check(
            self.request.user, "voting.view_vote", vote, view_perm="voting.view_vote"
        )  # out of sight: 404, as if absent
        return vote

    @extend_schema(responses={200: VoteSerializer(many=True), **error_responses(401, 403)})
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(VoteSerializer(page, many=True).data)

    @extend_schema(responses={200: VoteDetailSerializer, **error_responses(401, 403, 404)})
    def retrieve(self, request, pk=None):
        return Response(VoteDetailSerializer(self._vote(pk)).data)

    @extend_schema(responses={200: TurnoutSerializer, **error_responses(401, 403, 404)})
    @action(detail=True, methods=["get"])
    def turnout(self, request, pk=None):
        return Response(turnout_data(self._vote(pk)))

    @extend_schema(
        request={"application/json": BallotInSerializer, "multipart/form-data": BallotInSerializer},
        parameters=[IDEMPOTENCY],
        responses={201: BallotOutSerializer, 200: BallotOutSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def ballots(self, request, pk=None):
        """A worker enters a ballot for an owner (paper, phone, door-to-door, proxy)."""
        vote = self._vote(pk, related=())  # a ballot needs the vote's row only (its path, state and times)
        check(request.user, "voting.enter_ballot", vote)  # seen (above), may not enter: 403
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not key:
            return error(
                400, "Idempotency-Key", "缺少 Idempotency-Key 请求头", "the Idempotency-Key header is required"
            )
        data = BallotInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        entry = _ROLL_ENTRY.first(vote.pk, d["roll_token"])
        if entry is None:
            return error(404, "roll_token", "名册中没有该业主", "no such owner on this vote's roll", "not_found")
        attachment = None

        def cast():
            return actions.cast_ballot(
                vote,
                entry,
                actor=request.user,
                choice=d["choice"],
                channel=d["channel"],
                idempotency_key=key,
                attachment=attachment,
                proxy_name=d.get("proxy_name", ""),
            )

        try:
            if d.get("attachment") and not replayed(Ballot, key, vote=vote):
                # The scan and the ballot commit together: a refused ballot (409 — the head has voted) leaves no
                # upload row, no audit entry and no file behind.
                with transaction.atomic():
                    attachment = actions.attach_ballot_document(
                        vote, actor=request.user, data=d["attachment"].read(), name=d["attachment"].name
                    )
                    result = cast()
            else:
                result = cast()  # its own transaction: no savepoint inside an outer one
        except UploadError as e:
            return error(400, "attachment", e.zh, e.en)
        except VoteError as e:
            if attachment is not None:
                attachment.file.delete(save=False)
            return vote_error(e)
        body = {
            "receipt": result.receipt,
            "log_seq": result.entry.seq,
            "cast_at": result.ballot.cast_at,
            "channel": result.ballot.channel,
            "created": result.created,
        }
        return Response(BallotOutSerializer(body).data, status=status.HTTP_201_CREATED if result.created else 200)


class ReceiptViewSet(viewsets.ViewSet):
    permission_classes = [GatePermission, AllowAny]  # AllowAny: the OpenAPI document then says "no sign-in"
    gate_perms = {"retrieve": None, "proof": None}  # anyone may check a receipt (it says nothing personal)
    lookup_value_regex = "[A-Za-z0-9-]{12,20}"

    @extend_schema(responses={200: ReceiptSerializer, **error_responses(404)})
    def retrieve(self, request, pk=None):
        found = selectors.check_receipt(pk or "", user=request.user)
        if found is None or not found.vote.roll_is_public:
            raise NotFound
        return Response(
            ReceiptSerializer(
                {
                    "vote": found.vote.pk,
                    "subject": found.vote.subject,
                    "receipt": found.code,
                    "log_seq": found.seq,
                    "recorded_at": found.recorded_at,
                    "choice": found.choice,
                }
            ).data
        )

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **error_responses(404)},
        description="The entry's inclusion proof in the ballot log's latest signed tree head (RFC 6962 audit path, "
        "Ed25519 signature, the log's public key): check it with `python -m gongzhi.voting.merkle proof.json`.",
    )
    @action(detail=True, methods=["get"])
    def proof(self, request, pk=None):
        proof = selectors.receipt_proof(pk or "")
        if proof is None:
            raise NotFound
        return Response(proof)


def register(router):
    router.register("votes", VoteViewSet, basename="vote")
    router.register("receipts", ReceiptViewSet, basename="receipt")
