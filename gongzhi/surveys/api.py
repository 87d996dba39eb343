"""The surveys part's JSON API under /api/v1/ (permissions through the gate: GatePermission + rules.py).

GET  /api/v1/surveys/                    surveys in the caller's scope, by key
GET  /api/v1/surveys/{id}/               a survey and its figures (the three rates, as the command prints them)
GET  /api/v1/surveys/{id}/buildings/     figures and quota per building (where to go door to door)
GET  /api/v1/surveys/{id}/data/          the figures' data file (households as opaque tokens)
POST /api/v1/surveys/{id}/responses/     a worker enters a response (door / hotline / paper with `scan`);
                                         an `Idempotency-Key` header makes a retry return the first result
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from gongzhi.core import audit
from gongzhi.core.api import GENERIC, KeyCursorPagination, error_responses
from gongzhi.core.gate import GatePermission, allows, check
from gongzhi.core.rules import scoped
from gongzhi.registry.models import Person
from gongzhi.surveys import actions, selectors
from gongzhi.surveys.actions import SurveyError, current_version
from gongzhi.surveys.models import Response as SurveyResponse
from gongzhi.surveys.models import Survey, SurveyHousehold


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


class FigureSerializer(serializers.Serializer):
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    rate = serializers.CharField(allow_null=True, help_text="4 places, half to even")
    low = serializers.CharField(allow_null=True, required=False, help_text="95% Wilson lower bound")
    high = serializers.CharField(allow_null=True, required=False)
    target_met = serializers.BooleanField(required=False)


class FiguresSerializer(serializers.Serializer):
    households = serializers.IntegerField()
    response = FigureSerializer()
    awareness = FigureSerializer()
    participation = FigureSerializer()
    satisfaction = FigureSerializer()


class SurveySerializer(serializers.ModelSerializer):
    scope = serializers.CharField(source="scope.name")

    class Meta:
        model = Survey
        fields = [
            "id",
            "title",
            "status",
            "scope",
            "opens_on",
            "closes_on",
            "anonymous",
            "respondents",
            "min_age",
            "project_ref",
            "households",
            "target",
            "satisfied_from",
            "quota_percent",
            "results_published",
        ]


class SurveyDetailSerializer(SurveySerializer):
    figures = serializers.SerializerMethodField()
    census = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()
    questions = serializers.SerializerMethodField()

    class Meta(SurveySerializer.Meta):
        fields = [*SurveySerializer.Meta.fields, "figures", "census", "version", "questions"]

    def get_version(self, obj) -> int:
        return current_version(obj).number

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_questions(self, obj):
        """The current version's questions as answers are keyed: repeat groups expanded (``members__2__age``)."""
        return current_version(obj).flat

    def _report(self, obj):
        if obj.status == Survey.Status.DRAFT:
            return None
        cache = self.context.setdefault("_reports", {})
        if obj.pk not in cache:
            cache[obj.pk] = selectors.figures(obj)
        return cache[obj.pk]

    @extend_schema_field(FiguresSerializer(allow_null=True))
    def get_figures(self, obj):
        report = self._report(obj)
        return None if report is None else report.as_json()

    def get_census(self, obj) -> bool:
        report = self._report(obj)
        return bool(report and report.census)


class ResponseInSerializer(serializers.Serializer):
    household = serializers.CharField(
        max_length=16,
        help_text="the respondent's token in this survey (a household, or a resident or an organisation, as the "
        "survey's respondents say)",
    )
    channel = serializers.ChoiceField(choices=["door", "hotline", "paper"])
    answers = serializers.JSONField(help_text="{question key: answer}")
    on_behalf_of = serializers.IntegerField(
        required=False,
        help_text="the resident acted for (person id, living in or owning the household): the hotline caller, "
        "or the resident who filled in the paper; required for hotline and (named surveys) paper",
    )
    paper_number = serializers.CharField(
        required=False, max_length=30, help_text="the paper questionnaire's number, paper only; entered once"
    )
    scan = serializers.FileField(required=False, help_text="the paper form's scan (image or PDF), paper only")


@extend_schema_view(
    list=extend_schema(responses={200: SurveySerializer(many=True), **error_responses(401, 403)}),
    retrieve=extend_schema(responses={200: SurveyDetailSerializer, **error_responses(401, 403, 404)}),
)
class SurveyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """问卷 — surveys, their figures and staff entry of responses."""

    permission_classes = [GatePermission]
    gate_perms = {
        "list": "surveys.view_survey",
        "retrieve": "surveys.view_rates",
        "buildings": "surveys.view_progress",
        "data": "surveys.download_rates_data",
        "responses": "surveys.collect_response",
    }
    pagination_class = KeyCursorPagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        qs = Survey.objects.select_related("scope")
        if self.action == "list":
            return scoped(qs, self.request.user, field="path")
        return qs

    def get_serializer_class(self):
        return SurveySerializer if self.action == "list" else SurveyDetailSerializer

    # One survey, as its pages answer: (entry, perm, view_perm) per action. A reader who may do this nowhere
    # (entry, asked without an object) is refused (403); a survey out of the reader's sight (view_perm) is
    # answered as absent (404); in sight but not allowed (perm), 403.
    object_perms = {
        "retrieve": (None, "surveys.view_rates", "surveys.view_rates"),
        "buildings": ("surveys.view_progress", "surveys.view_progress", "surveys.view_progress"),
        "data": ("surveys.download_rates_data", "surveys.download_rates_data", "surveys.view_rates"),
        "responses": ("surveys.view_progress", "surveys.collect_response", "surveys.view_progress"),
    }

    def get_object(self):
        entry, perm, view_perm = self.object_perms[self.action]
        if entry is not None and not allows(self.request.user, entry):
            raise PermissionDenied(entry)
        survey = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        check(self.request.user, perm, survey, view_perm=view_perm)
        return survey

    @extend_schema(
        responses={
            200: inline_serializer(
                "SurveyBuildings",
                {
                    "building": serializers.CharField(),
                    "needed": serializers.IntegerField(allow_null=True),
                    "under_sampled": serializers.BooleanField(),
                    "figures": FiguresSerializer(),
                },
                many=True,
            ),
            **error_responses(401, 403, 404),
        }
    )
    @action(detail=True, methods=["get"])
    def buildings(self, request, pk=None):
        survey = self.get_object()
        return Response(
            [
                {
                    "building": r.building.name,
                    "needed": r.needed,
                    "under_sampled": r.under_sampled,
                    "figures": r.report.as_json(),
                }
                for r in selectors.by_building(survey)
            ]
        )

    @extend_schema(
        responses={
            200: inline_serializer(
                "SurveyDataFile",
                {
                    "households": serializers.ListField(child=serializers.CharField()),
                    "responses": serializers.ListField(child=serializers.DictField()),
                    "participants": serializers.ListField(child=serializers.CharField()),
                    "satisfied_from": serializers.IntegerField(),
                    "target": serializers.CharField(),
                },
            ),
            **error_responses(401, 403, 404),
        }
    )
    @action(detail=True, methods=["get"])
    def data(self, request, pk=None):
        survey = self.get_object()

        audit.record("surveys.download_data", survey, actor=request.user, channel="api")
        return Response(selectors.data_file(survey))

    @extend_schema(
        request=ResponseInSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses={
            201: inline_serializer(
                "SurveyResponseCreated", {"reference": serializers.CharField(), "review": serializers.CharField()}
            ),
            **error_responses(400, 401, 403, 404),
        },
    )
    @action(detail=True, methods=["post"])
    def responses(self, request, pk=None):
        survey = self.get_object()
        data = ResponseInSerializer(data=request.data)
        if not data.is_valid():
            field, msgs = next(iter(data.errors.items()))
            return error(400, field, f"{field}：{msgs[0]}", f"{field}: {msgs[0]}")
        d = data.validated_data
        answers = d["answers"]
        if isinstance(answers, str):
            try:
                answers = json.loads(answers)
            except ValueError:
                return error(400, "answers", "答案不是有效的JSON", "answers is not valid JSON")
        household = SurveyHousehold.objects.filter(survey=survey, token=d["household"]).first()
        if household is None:
            return error(404, "household", "本问卷没有该住户", "no such household in this survey", "not_found")
        caller = None
        if d.get("on_behalf_of"):
            caller = Person.objects.filter(pk=d["on_behalf_of"]).first()
            if caller is None:
                return error(400, "on_behalf_of", "没有该居民", "no such person")
        scan = d.get("scan")
        try:
            created = actions.submit_response(
                survey,
                household,
                actor=request.user,
                answers=answers,
                channel=d["channel"],
                on_behalf_of=caller,
                scan=(scan.read(), scan.name) if scan else None,
                idempotency_key=request.headers.get("Idempotency-Key", "")[:64],
                paper_number=d.get("paper_number", ""),
            )
        except SurveyError as e:
            return error(409 if e.code in ("duplicate", "quota_full") else 400, e.field, e.zh, e.en, e.code)
        body = {
            "reference": "" if survey.anonymous else created.reference,
            "review": created.review or SurveyResponse.Review.NOT_NEEDED,
        }
        return Response(body, status=status.HTTP_201_CREATED)


def register(router) -> None:
    """Add this part's viewsets to the API router."""
    router.register("surveys", SurveyViewSet, basename="survey")
