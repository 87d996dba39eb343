"""Every change to a survey goes through these functions: permission first, one transaction, an audit entry.

One response per household: the frame row's `taken` flag is set by a conditional update (the first writer wins,
the second finds it set), and for named surveys the partial unique constraint on Response.household backs it in
the database. An anonymous response keeps no link to its household: only the frame's flag records that the
household answered, and the audit entry names the survey, not the response.

Quotas (at most N responses from a building, an age band, or choosing an option) are filled by conditional
updates (`filled < maximum`) in the submitting transaction, so no quota is ever over-filled; a refused quota
rolls the whole submit back. Row locks, always in this order: the survey row (FOR SHARE on PostgreSQL while
submitting — adding a quota takes it FOR UPDATE, so it counts no response still in flight), then the household's
frame row, then the survey's quotas by id.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone, translation

from gongzhi.core import audit
from gongzhi.core.errors import BilingualValidationError
from gongzhi.core.gate import allows, require
from gongzhi.core.ids import parse_id
from gongzhi.core.models import Upload, User
from gongzhi.core.pii import age_on, mask_name
from gongzhi.core.uploads import UploadError, store_upload
from gongzhi.deliberation.models import Matter
from gongzhi.organizations.models import Membership, Organization, OrgKind
from gongzhi.registry.actions import resolve_unit_set
from gongzhi.registry.models import AreaNode, Ownership, Person, Residence, Unit, UnitSet
from gongzhi.surveys import questions as qdef
from gongzhi.surveys.models import AGE_BANDS, Quota, RateSettings, Response, Survey, SurveyHousehold, SurveyVersion


class SurveyError(BilingualValidationError):
    """A refused step, in Chinese and English, naming the field where there is one (views show it, API 400)."""

    def __init__(self, zh: str, en: str, field: str | None = None, code: str = "invalid"):
        super().__init__(zh, en, field, code)
        self.code = code  # the API answers 409 for "duplicate", also when the error is keyed by a field


def _definition(questions: object) -> list[dict]:
    try:
        return qdef.validate_definition(questions)
    except qdef.DefinitionError as e:
        idx = "" if e.index is None else f"第{e.index + 1}题："
        idx_en = "" if e.index is None else f"question {e.index + 1}: "
        raise SurveyError(f"{idx}{e.zh}", f"{idx_en}{e.en}", "questions")


def rate_settings_for(node: AreaNode) -> tuple[Decimal, int]:
    """The target and "satisfied" level set for the nearest node above (or at) `node`; defaults otherwise."""
    ids = [int(x) for x in node.path.strip("/").split("/") if x]
    found = {s.node_id: s for s in RateSettings.objects.filter(node_id__in=ids)}
    for pk in reversed(ids):
        if pk in found:
            return found[pk].target, found[pk].satisfied_from
    return RateSettings._meta.get_field("target").default, RateSettings._meta.get_field("satisfied_from").default


def _check_project(project_ref: str, actor: User | None) -> None:
    """A survey tagged with a deliberation matter names one that exists and that the actor may see."""
    prefix = "deliberation.matter:"
    if not project_ref.startswith(prefix):
        return
    matter_id = parse_id(project_ref.removeprefix(prefix))
    matter = Matter.objects.filter(pk=matter_id).first() if matter_id else None
    if matter is None or (actor is not None and not allows(actor, "deliberation.view_matter", matter)):
        raise SurveyError(
            "所属项目：没有这个议题，或不在您的工作范围内",
            "project: no such matter, or not within your area",
            "project_ref",
        )


def _check_period(opens_on: date, closes_on: date) -> None:
    if closes_on < opens_on:
        raise SurveyError("结束日期早于开始日期", "the end date is before the start date", "closes_on")


@transaction.atomic
def create_survey(
    *,
    actor: User | None,
    title: str,
    unit_set: UnitSet,
    opens_on: date,
    closes_on: date,
    questions: list[dict],
    intro: str = "",
    anonymous: bool = False,
    project_ref: str = "",
    quota_percent: int | None = None,
    respondents: str = Survey.Respondents.HOUSEHOLD,
    min_age: int = 18,
) -> Survey:
    """A draft survey over a set of units: its households answer (the default), or each resident of at least
    `min_age`, or each enterprise or work unit (企业与单位) registered in the set's area."""
    require(actor, "surveys.add_survey", unit_set.scope)
    if not title.strip():
        raise SurveyError("请填写标题", "the title is missing", "title")
    if respondents not in Survey.Respondents.values:
        raise SurveyError("答卷对象不正确", "respondents are households, residents or organisations", "respondents")
    if not 0 <= min_age <= 120:
        raise SurveyError("最低年龄应在0到120之间", "the minimum age is 0–120", "min_age")
    _check_period(opens_on, closes_on)
    _check_project(project_ref, actor)
    if quota_percent is not None and not 0 <= quota_percent <= 100:
        raise SurveyError("样本比例应在0到100之间", "the quota is a percentage 0–100", "quota_percent")
    definition = _definition(questions)
    target, satisfied_from = rate_settings_for(unit_set.scope)
    survey = Survey.objects.create(
        title=title.strip(),
        intro=intro,
        unit_set=unit_set,
        scope=unit_set.scope,
        path=unit_set.scope.path,
        opens_on=opens_on,
        closes_on=closes_on,
        anonymous=anonymous,
        project_ref=project_ref,
        quota_percent=quota_percent,
        respondents=respondents,
        min_age=min_age,
        target=target,
        satisfied_from=satisfied_from,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    SurveyVersion.objects.create(survey=survey, number=1, questions=definition, created_by=survey.created_by)
    audit.record(
        "surveys.create_survey",
        survey,
        actor=actor,
        changes={
            "title": survey.title,
            "unit_set": unit_set.pk,
            "anonymous": anonymous,
            "respondents": respondents,
            "questions": len(definition),
            "project_ref": project_ref,
        },
    )
    return survey


def current_version(survey: Survey) -> SurveyVersion:
    return survey.versions.order_by("-number").first()


@transaction.atomic
def update_questions(survey: Survey, *, actor: User | None, questions: list[dict]) -> SurveyVersion:
    """Replace the questions; a change after the first response makes a new version (old answers keep theirs)."""
    require(actor, "surveys.change_survey", survey)
    survey = Survey.objects.select_for_update(of=("self",)).get(pk=survey.pk)
    definition = _definition(questions)
    version = current_version(survey)
    if definition == version.questions:
        return version
    if version.responses.exists():
        version = SurveyVersion.objects.create(
            survey=survey,
            number=version.number + 1,
            questions=definition,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record("surveys.new_version", survey, actor=actor, changes={"version": version.number})
    else:
        version.questions = definition
        version.save(update_fields=["questions"])
        audit.record("surveys.change_questions", survey, actor=actor, changes={"version": version.number})
    return version


@transaction.atomic
def update_survey(survey: Survey, *, actor: User | None, **fields: Any) -> Survey:
    """Change title, intro, period, quota or project (not the household set once open)."""
    require(actor, "surveys.change_survey", survey)
    allowed = {"title", "intro", "opens_on", "closes_on", "quota_percent", "project_ref"}
    unknown = set(fields) - allowed
    if unknown:
        raise SurveyError("不能修改这些内容", f"cannot change {', '.join(sorted(unknown))}")
    before = {k: getattr(survey, k) for k in fields}
    for k, v in fields.items():
        setattr(survey, k, v)
    _check_period(survey.opens_on, survey.closes_on)
    survey.save(update_fields=list(fields))
    audit.record("surveys.change_survey", survey, actor=actor, changes=audit.diff(before, fields))
    return survey


def _building_of(unit: Unit) -> AreaNode:
    node = unit.node
    return node.parent if node.level.code == "entrance" and node.parent_id else node


def _token(used: set[str]) -> str:
    while True:
        t = secrets.token_hex(5)
        if t not in used:
            used.add(t)
            return t


def _age_bands(units: QuerySet[Unit], today: date) -> dict[int, str]:
    """unit id → the age band ("80", "60", "18", "0") of its household head, else of its oldest resident."""
    best: dict[int, tuple[bool, date]] = {}
    rows = Residence.objects.filter(unit__in=units.values("pk"), until__isnull=True, person__birth_date__isnull=False)
    for unit_id, born, head in rows.values_list("unit_id", "person__birth_date", "is_household_head").iterator():
        key = (head, -born.toordinal())  # the head first, then the oldest
        if unit_id not in best or key > (best[unit_id][0], -best[unit_id][1].toordinal()):
            best[unit_id] = (head, born)
    return {unit_id: _band(age_on(born, today)) for unit_id, (_head, born) in best.items()}


@transaction.atomic
def open_survey(survey: Survey, *, actor: User | None) -> Survey:
    """Freeze the frame (every household of the unit set: a unit with a current resident) and open."""
    require(actor, "surveys.open_survey", survey)
    survey = Survey.objects.select_for_update(of=("self",)).get(pk=survey.pk)
    if survey.status != Survey.Status.DRAFT:
        raise SurveyError("问卷已开始", "the survey is already open", "status")
    if survey.respondents == Survey.Respondents.PERSON:
        rows = _person_frame(survey)
    elif survey.respondents == Survey.Respondents.ORGANIZATION:
        rows = _organization_frame(survey)
    else:
        rows = _household_frame(survey)
    if not rows:
        raise SurveyError(*_EMPTY_FRAME[survey.respondents], "unit_set")
    SurveyHousehold.objects.bulk_create(rows, batch_size=2000)
    survey.status = Survey.Status.OPEN
    survey.households = len(rows)
    survey.opened_at = timezone.now()
    survey.save(update_fields=["status", "households", "opened_at"])
    audit.record("surveys.open_survey", survey, actor=actor, changes={"households": len(rows)})
    return survey


_EMPTY_FRAME = {
    Survey.Respondents.HOUSEHOLD: ("范围内没有住户", "the set holds no households"),
    Survey.Respondents.PERSON: ("范围内没有符合年龄的居民", "the set holds no residents of that age"),
    Survey.Respondents.ORGANIZATION: (
        "范围内没有登记的企业或单位",
        "no enterprise or work unit is registered in the set's area",
    ),
}


def _unit_label(u: Unit, building: AreaNode) -> str:
    return f"{building.name}{'' if building is u.node else u.node.name} {u.number}"


def _household_frame(survey: Survey) -> list[SurveyHousehold]:
    units = (
        resolve_unit_set(survey.unit_set)
        .filter(resident_count__gt=0)
        .select_related("node__level", "node__parent")
        .order_by("path", "number")
    )
    bands = _age_bands(units, timezone.localdate())
    used: set[str] = set()
    rows = []
    for u in units.iterator(chunk_size=2000):
        building = _building_of(u)
        rows.append(
            SurveyHousehold(
                survey=survey,
                unit=u,
                token=_token(used),
                building=building,
                path=u.path,
                label=_unit_label(u, building),
                age_band=bands.get(u.pk, ""),
            )
        )
    return rows


def _band(age: int) -> str:
    return "80" if age >= 80 else "60" if age >= 60 else "18" if age >= 18 else "0"


def _person_frame(survey: Survey) -> list[SurveyHousehold]:
    """Every current resident of the set's units aged `min_age` or more today (an unknown age is included:
    the registry cannot tell, and leaving them out would leave them unasked). A resident of two units in the set
    is one respondent, at the home listed first. Labels carry the masked name only."""
    today = timezone.localdate()
    units = resolve_unit_set(survey.unit_set).values("pk")
    homes = (
        Residence.objects.filter(unit__in=units, until__isnull=True)
        .select_related("unit__node__level", "unit__node__parent", "person")
        .order_by("unit__path", "unit__number", "person_id")
    )
    used: set[str] = set()
    seen: set[int] = set()
    rows = []
    for r in homes.iterator(chunk_size=2000):
        person, u = r.person, r.unit
        if person.pk in seen:
            continue
        age = age_on(person.birth_date, today) if person.birth_date else None
        if age is not None and age < survey.min_age:
            continue
        seen.add(person.pk)
        building = _building_of(u)
        rows.append(
            SurveyHousehold(
                survey=survey,
                kind=Survey.Respondents.PERSON,
                unit=u,
                person=person,
                token=_token(used),
                building=building,
                path=u.path,
                label=f"{_unit_label(u, building)} {mask_name(person.name)}",
                age_band="" if age is None else _band(age),
            )
        )
    return rows


def _organization_frame(survey: Survey) -> list[SurveyHousehold]:
    """Every enterprise or work unit (organisation kinds of the 企业与单位 category) registered at or under the
    set's area and not dissolved; `building` is the area node it belongs to."""
    orgs = (
        Organization.objects.filter(
            kind__category=OrgKind.Category.MARKET, path__startswith=survey.path, dissolved__isnull=True
        )
        .select_related("node")
        .order_by("path", "name", "pk")
    )
    used: set[str] = set()
    return [
        SurveyHousehold(
            survey=survey,
            kind=Survey.Respondents.ORGANIZATION,
            organization=o,
            token=_token(used),
            building=o.node,
            path=o.path,
            label=o.name[:100],
        )
        for o in orgs.iterator(chunk_size=2000)
    ]


@transaction.atomic
def close_survey(survey: Survey, *, actor: User | None) -> Survey:
    require(actor, "surveys.close_survey", survey)
    updated = Survey.objects.filter(pk=survey.pk, status=Survey.Status.OPEN).update(
        status=Survey.Status.CLOSED, closed_at=timezone.now()
    )
    if not updated:
        raise SurveyError("问卷不在进行中", "the survey is not open", "status")
    survey.refresh_from_db()
    audit.record("surveys.close_survey", survey, actor=actor)
    return survey


@transaction.atomic
def publish_results(survey: Survey, *, actor: User | None, published: bool, keys: list[str]) -> Survey:
    """Publish (or withdraw) the results, choosing the questions shown; free-text questions never are."""
    require(actor, "surveys.publish_results", survey)
    version = current_version(survey)
    by_key = {q["key"]: q for q in version.questions}
    for k in keys:
        if k not in by_key:
            raise SurveyError(f"没有“{k}”这道题", f"no question {k!r}", "keys")
        if by_key[k]["type"] == "text":
            raise SurveyError("文字题的回答不公开", "free-text answers are never published", "keys")
        if by_key[k]["type"] == "repeat" or by_key[k].get("group"):
            raise SurveyError(
                "重复组的回答按人记录，不公开", "a repeat group's answers are per member and never published", "keys"
            )
    survey.results_published = published
    survey.published_keys = [q["key"] for q in version.questions if q["key"] in set(keys)]
    survey.save(update_fields=["results_published", "published_keys"])
    audit.record(
        "surveys.publish_results", survey, actor=actor, changes={"published": published, "keys": survey.published_keys}
    )
    return survey


@transaction.atomic
def set_rate_settings(node: AreaNode, *, actor: User | None, target: Decimal, satisfied_from: int) -> RateSettings:
    """A district's target and "satisfied" level for surveys created from now on."""
    require(actor, "surveys.change_ratesettings", node)
    if not Decimal(0) <= target <= Decimal(1):
        raise SurveyError("目标值应在0到1之间", "the target is between 0 and 1", "target")
    if satisfied_from not in (1, 2, 3, 4, 5):
        raise SurveyError("“满意”的最低评分应为1到5", "the satisfied level is 1–5", "satisfied_from")
    obj, _ = RateSettings.objects.update_or_create(
        node=node, defaults={"target": target, "satisfied_from": satisfied_from}
    )
    audit.record(
        "surveys.set_rate_settings", node, actor=actor, changes={"target": target, "satisfied_from": satisfied_from}
    )
    return obj


# ------------------------------------------------------------------------------------------- responses
STAFF_CHANNELS = (Response.Channel.DOOR, Response.Channel.HOTLINE, Response.Channel.PAPER)


@transaction.atomic
def submit_response(
    survey: Survey,
    household: SurveyHousehold,
    *,
    actor: User | None,
    answers: dict,
    channel: str,
    on_behalf_of: Person | None = None,
    scan: tuple[bytes, str] | None = None,
    identity_confirmed: bool = False,
    idempotency_key: str = "",
    paper_number: str = "",
    today: date | None = None,
) -> Response:
    """Accept one household's answers, on any channel, after re-checking every rule of the current version.

    Staff channels act for a resident: `on_behalf_of` must live in or own the household now; the hotline names
    the caller, paper names the resident who filled it in (not for anonymous surveys, which keep no link) and
    carries its `paper_number`, entered once per survey (a rejected paper may be entered again, corrected).
    """
    if channel == Response.Channel.ONLINE:
        require(actor, "surveys.answer_survey", survey)
        if not identity_confirmed:
            raise SurveyError("请先用短信验证码确认身份", "confirm your identity by SMS first", "identity")
    elif channel in STAFF_CHANNELS:
        require(actor, "surveys.collect_response", survey)
    else:
        raise SurveyError("渠道不正确", "unknown channel", "channel")
    if household.survey_id != survey.pk:
        raise SurveyError("该户不在本问卷范围内", "the household is not in this survey's frame", "household")
    if idempotency_key:
        earlier = Response.objects.filter(survey=survey, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier  # a repeated submit (double click, retry) returns the first result
    day = today or timezone.localdate()
    if survey.status != Survey.Status.OPEN or not survey.opens_on <= day <= survey.closes_on:
        raise SurveyError("问卷不在填写期内", "the survey is not open for answers today", "survey")
    version = current_version(survey)
    try:
        kept = qdef.check_answers(version.flat, answers)
    except qdef.AnswerError as e:
        raise SurveyError(e.zh, e.en, e.key or "answers")
    if channel == Response.Channel.PAPER and scan is None:
        raise SurveyError("纸质问卷须上传扫描件", "a paper response needs its scan", "scan")
    if channel == Response.Channel.HOTLINE and on_behalf_of is None:
        raise SurveyError("热线代录须注明来电居民", "a hotline entry names the caller", "on_behalf_of")
    if channel == Response.Channel.PAPER and on_behalf_of is None and not survey.anonymous:
        raise SurveyError(
            "纸质问卷须注明填写问卷的居民", "a paper entry names the resident who filled it in", "on_behalf_of"
        )
    if on_behalf_of is not None and not _may_answer_for(on_behalf_of, household):
        raise SurveyError(*_NOT_FOR[survey.respondents], "on_behalf_of")
    paper_number = _paper_number(survey, channel, paper_number)
    _share_lock(survey)
    # The conditional update is the first guard: of two concurrent submits for one household, one sees 0 rows.
    if not SurveyHousehold.objects.filter(pk=household.pk, taken=False).update(taken=True):
        if idempotency_key:  # a concurrent retry of the same submit: the winner has committed by now
            earlier = Response.objects.filter(survey=survey, idempotency_key=idempotency_key).first()
            if earlier is not None:
                return earlier
        raise SurveyError(*_DONE[survey.respondents], "household", code="duplicate")
    _fill_quotas(survey, household, kept)
    upload: Upload | None = None
    if scan is not None:
        try:
            upload = store_upload(scan[0], name=scan[1], kind=Upload.Kind.SCAN, user=actor, scope_path=household.path)
        except UploadError as e:
            raise SurveyError(e.zh, e.en, "scan")
    now = timezone.now()
    response = Response(
        survey=survey,
        version=version,
        household=None if survey.anonymous else household,
        answers=kept,
        channel=channel,
        review=Response.Review.NOT_NEEDED if channel == Response.Channel.ONLINE else Response.Review.RECEIVED,
        aware=qdef.aware_of(version.flat, kept),
        satisfaction=qdef.satisfaction_of(version.flat, kept),
        entered_by=None if survey.anonymous or not getattr(actor, "pk", None) else actor,
        on_behalf_of=None if survey.anonymous else on_behalf_of,
        scan=upload,
        paper_number=paper_number,
        # An anonymous response keeps the day only, so it cannot be matched to the household by its time.
        submitted_at=now.replace(hour=12, minute=0, second=0, microsecond=0) if survey.anonymous else now,
        idempotency_key=idempotency_key[:64],
    )
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError:
        if paper_number and _paper_taken(survey, paper_number):  # another worker entered this paper just now
            raise _paper_duplicate(survey, paper_number)
        raise SurveyError(*_DONE[survey.respondents], "household", code="duplicate")
    if survey.anonymous:
        audit.record("surveys.answer_anonymous", survey, actor=actor, channel=channel)
    else:
        changes = {"survey": survey.pk, "household": household.token, "version": version.number}
        if paper_number:
            changes["paper_number"] = paper_number
        audit.record(
            "surveys.submit_response",
            response,
            actor=actor,
            on_behalf_of=on_behalf_of,
            channel=channel,
            changes=changes,
        )
    return response


_DONE = {
    Survey.Respondents.HOUSEHOLD: ("该户已提交过问卷", "this household has already answered"),
    Survey.Respondents.PERSON: ("这位居民已提交过问卷", "this resident has already answered"),
    Survey.Respondents.ORGANIZATION: ("该企业或单位已提交过问卷", "this organisation has already answered"),
}
_NOT_FOR = {
    Survey.Respondents.HOUSEHOLD: (
        "代填的居民不住在也不拥有该户",
        "that person neither lives in nor owns the household",
    ),
    Survey.Respondents.PERSON: ("每位居民的问卷只能由本人回答", "a resident's questionnaire is answered by them"),
    Survey.Respondents.ORGANIZATION: (
        "代填的人不是该企业或单位的人员",
        "that person is not a member of the enterprise or work unit",
    ),
}


PAPER_NUMBER_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,29}$")


def _paper_number(survey: Survey, channel: str, raw: str) -> str:
    """The paper's number, normalised (trimmed, upper case); required on paper, refused elsewhere, never twice."""
    number = (raw or "").strip().upper()
    if channel != Response.Channel.PAPER:
        if number:
            raise SurveyError("只有纸质问卷有编号", "only a paper questionnaire has a number", "paper_number")
        return ""
    if not number:
        raise SurveyError("请填写纸质问卷编号", "enter the paper questionnaire's number", "paper_number")
    if not PAPER_NUMBER_RE.match(number):
        raise SurveyError(
            "纸质问卷编号只能用字母、数字和“-”，不超过30位",
            "the paper number is letters, digits and '-', at most 30",
            "paper_number",
        )
    if _paper_taken(survey, number):
        raise _paper_duplicate(survey, number)
    return number


def _paper_taken(survey: Survey, number: str) -> Response | None:
    return Response.objects.filter(survey=survey, paper_number=number).exclude(review=Response.Review.REJECTED).first()


def _paper_duplicate(survey: Survey, number: str) -> SurveyError:
    earlier = _paper_taken(survey, number)
    ref = "" if earlier is None or survey.anonymous else f"（{earlier.reference}）"
    ref_en = "" if earlier is None or survey.anonymous else f" ({earlier.reference})"
    return SurveyError(
        f"编号为{number}的纸质问卷已录入{ref}",
        f"paper {number} has already been entered{ref_en}",
        "paper_number",
        code="duplicate",
    )


def _may_answer_for(person: Person, household: SurveyHousehold) -> bool:
    """Whether a response for this frame row may name `person` as the one who answered: a resident or owner of
    the household; the resident themself (per-resident surveys); a current member or the legal person of the
    organisation."""
    if household.person_id is not None:
        return person.pk == household.person_id
    if household.organization_id is not None:
        return (
            Organization.objects.filter(pk=household.organization_id, legal_person=person).exists()
            or Membership.objects.filter(
                organization_id=household.organization_id, person=person, until__isnull=True
            ).exists()
        )
    unit = household.unit_id
    return (
        Residence.objects.filter(person=person, unit_id=unit, until__isnull=True).exists()
        or Ownership.objects.filter(person=person, unit_id=unit, until__isnull=True).exists()
    )


REVIEW_MOVES = {
    Response.Review.RECEIVED: {Response.Review.APPROVED, Response.Review.HAS_ISSUES, Response.Review.REJECTED},
    Response.Review.HAS_ISSUES: {Response.Review.APPROVED, Response.Review.REJECTED},
}


@transaction.atomic
def review_response(response: Response, *, actor: User | None, decision: str, comment: str = "") -> Response:
    """Approve, flag or reject a staff-entered response; a rejection needs a comment and frees the household."""
    require(actor, "surveys.review_response", response)
    response = Response.objects.select_for_update(of=("self",)).select_related("survey").get(pk=response.pk)
    if decision not in REVIEW_MOVES.get(response.review, set()):
        raise SurveyError("当前状态不能这样审核", "this review step is not possible now", "decision")
    if decision in (Response.Review.REJECTED, Response.Review.HAS_ISSUES) and not comment.strip():
        raise SurveyError("退回或标记问题须写明原因", "say why when rejecting or flagging", "comment")
    before = response.review
    response.review = decision
    response.review_comment = comment.strip()
    response.reviewed_by = actor if getattr(actor, "pk", None) else None
    response.save(update_fields=["review", "review_comment", "reviewed_by"])
    if decision == Response.Review.REJECTED:
        household = None
        if response.household_id:
            SurveyHousehold.objects.filter(pk=response.household_id).update(taken=False)
            household = SurveyHousehold.objects.get(pk=response.household_id)
        _release_quotas(response, household)
    audit.record(
        "surveys.review_response",
        response,
        actor=actor,
        changes={"review": [before, decision], "comment": response.review_comment},
    )
    return response


# ------------------------------------------------------------------------------------------- quotas
def _share_lock(survey: Survey) -> None:
    """Hold the survey row FOR SHARE until commit: submits do not wait for each other, but a quota being added
    (FOR UPDATE) waits for them, and they for it. SQLite runs one writer at a time and needs none."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {Survey._meta.db_table} WHERE id = %s FOR SHARE", [survey.pk])


def _fill_quotas(survey: Survey, household: SurveyHousehold, answers: dict) -> None:
    """Take one place in every quota the response falls in (by id), or refuse the whole submit."""
    for quota in Quota.objects.filter(survey=survey).order_by("pk"):
        if not quota.matches(household.building_id, household.age_band, answers):
            continue
        if not Quota.objects.filter(pk=quota.pk, filled__lt=F("maximum")).update(filled=F("filled") + 1):
            raise _quota_full(quota)


def _quota_full(quota: Quota) -> SurveyError:
    field = quota.question_key if quota.kind == Quota.Kind.CHOICE else "household"
    return SurveyError(
        f"{quota.label}的名额已满（最多{quota.maximum}份）",
        f"the quota for {quota.label_en or quota.label} is full (at most {quota.maximum})",
        field,
        code="quota_full",
    )


def _release_quotas(response: Response, household: SurveyHousehold | None) -> None:
    """Give back the places of a rejected response (an anonymous one keeps its household's, as the household
    stays marked as having answered)."""
    building = household.building_id if household else None
    band = household.age_band if household else None
    for quota in Quota.objects.filter(survey_id=response.survey_id).order_by("pk"):
        if quota.matches(building, band, response.answers):
            Quota.objects.filter(pk=quota.pk, filled__gt=0).update(filled=F("filled") - 1)


def _labels(label: object) -> tuple[str, str]:
    """A lazy label in Chinese and in English (both kept on the quota, so it reads right in either language)."""
    with translation.override("zh-hans"):
        zh = str(label)
    with translation.override("en"):
        en = str(label)
    return zh, en


def _filled_now(survey: Survey, quota: Quota) -> int:
    """How many counted responses the quota would already hold (for a quota added to an open survey)."""
    frame = SurveyHousehold.objects.filter(survey=survey, taken=True)
    if quota.kind == Quota.Kind.BUILDING:
        return frame.filter(building_id=quota.building_id).count()
    if quota.kind == Quota.Kind.AGE_BAND:
        return frame.filter(age_band=quota.age_band).count()
    answers = Response.objects.filter(survey=survey).exclude(review=Response.Review.REJECTED)
    return sum(1 for a in answers.values_list("answers", flat=True).iterator() if quota.matches(None, None, a))


@transaction.atomic
def add_quota(
    survey: Survey,
    *,
    actor: User | None,
    kind: str,
    maximum: int,
    building: AreaNode | None = None,
    age_band: str = "",
    question_key: str = "",
    choice_code: str = "",
) -> Quota:
    """Cap the responses from a building, an age band, or choosing one option; counts those already in."""
    require(actor, "surveys.change_quotas", survey)
    survey = Survey.objects.select_for_update(of=("self",)).get(pk=survey.pk)  # after the submits in flight
    if survey.status == Survey.Status.CLOSED:
        raise SurveyError("问卷已结束", "the survey is closed", "status")
    if not isinstance(maximum, int) or isinstance(maximum, bool) or maximum < 1:
        raise SurveyError("最多份数应为正整数", "the maximum is a whole number from 1", "maximum")
    quota = Quota(survey=survey, kind=kind, maximum=maximum)
    if kind == Quota.Kind.BUILDING:
        if survey.respondents == Survey.Respondents.ORGANIZATION:
            raise SurveyError("企业和单位不按楼栋设配额", "organisations have no building quota", "kind")
        if building is None or not building.path.startswith(survey.path) or building.level.code != "building":
            raise SurveyError("请选择本问卷范围内的楼栋", "choose a building in the survey's scope", "building")
        quota.building, quota.label, quota.label_en = building, building.name, building.name
    elif kind == Quota.Kind.AGE_BAND:
        if survey.respondents == Survey.Respondents.ORGANIZATION:
            raise SurveyError("企业和单位没有年龄段", "organisations have no age band", "kind")
        bands = dict(AGE_BANDS)
        if age_band not in bands:
            raise SurveyError("请选择年龄段", "choose an age band", "age_band")
        quota.age_band = age_band
        zh, en = _labels(bands[age_band])
        if survey.respondents == Survey.Respondents.PERSON:
            quota.label, quota.label_en = f"居民{zh}", f"residents: {en}"
        else:
            quota.label, quota.label_en = f"户主{zh}", f"household heads: {en}"
    elif kind == Quota.Kind.CHOICE:
        q = next((q for q in current_version(survey).questions if q["key"] == question_key), None)
        if q is None or q["type"] not in ("single", "multiple") or q.get("group"):
            raise SurveyError(
                "请选择一道单选或多选题（不在重复组内）",
                "choose a single or multiple choice question (not in a repeat group)",
                "question",
            )
        choice = next((c for c in q["choices"] if c["code"] == choice_code), None)
        if choice is None:
            raise SurveyError("请选择该题的一个选项", "choose one of the question's options", "question")
        quota.question_key, quota.choice_code = question_key, choice_code
        quota.label = f"“{q['label'][:40]}”选“{choice['label'][:40]}”"
        quota.label_en = f"{q.get('label_en') or q['label'][:40]}: {choice.get('label_en') or choice['label'][:40]}"
    else:
        raise SurveyError("配额类型不正确", "unknown quota kind", "kind")
    same = Quota.objects.filter(
        survey=survey,
        kind=kind,
        building=quota.building,
        age_band=quota.age_band,
        question_key=quota.question_key,
        choice_code=quota.choice_code,
    )
    if same.exists():
        raise SurveyError("已有同样的配额，请修改它的份数", "that quota exists: change its maximum", "kind")
    quota.filled = _filled_now(survey, quota) if survey.status == Survey.Status.OPEN else 0
    if quota.filled > maximum:
        raise SurveyError(
            f"已有{quota.filled}份，最多份数不能小于它",
            f"{quota.filled} are in already: the maximum cannot be lower",
            "maximum",
        )
    quota.save()
    audit.record(
        "surveys.add_quota",
        survey,
        actor=actor,
        changes={"quota": quota.pk, "label": quota.label, "maximum": maximum, "filled": quota.filled},
    )
    return quota


@transaction.atomic
def change_quota(quota: Quota, *, actor: User | None, maximum: int) -> Quota:
    """A new maximum, never below the places already taken (checked in the same update that sets it)."""
    require(actor, "surveys.change_quotas", quota.survey)
    if not isinstance(maximum, int) or isinstance(maximum, bool) or maximum < 1:
        raise SurveyError("最多份数应为正整数", "the maximum is a whole number from 1", "maximum")
    before = quota.maximum
    if not Quota.objects.filter(pk=quota.pk, filled__lte=maximum).update(maximum=maximum):
        quota.refresh_from_db()
        raise SurveyError(
            f"已有{quota.filled}份，最多份数不能小于它",
            f"{quota.filled} are in already: the maximum cannot be lower",
            "maximum",
        )
    quota.refresh_from_db()
    audit.record(
        "surveys.change_quota", quota.survey, actor=actor, changes={"quota": quota.pk, "maximum": [before, maximum]}
    )
    return quota


@transaction.atomic
def remove_quota(quota: Quota, *, actor: User | None) -> None:
    require(actor, "surveys.change_quotas", quota.survey)
    audit.record("surveys.remove_quota", quota.survey, actor=actor, changes={"quota": quota.pk, "label": quota.label})
    quota.delete()
