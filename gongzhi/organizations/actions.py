"""Every change to organisations goes through these functions: permission, validation, transaction, audit.

Errors are Django ValidationErrors keyed by field, each message "中文 / English", so forms show them next to
the field and the API returns them as 400s naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.gate import require
from gongzhi.core.models import User
from gongzhi.organizations import kinds
from gongzhi.organizations.models import LiaisonAssignment, Membership, Organization, OrgKind
from gongzhi.registry.actions import refresh_household_counts
from gongzhi.registry.models import AreaLevel, AreaNode, Person, Unit

EDITABLE_FIELDS = frozenset({"name", "phone", "founded", "project_ref", "legal_person"})


def _recount_ended(assignments: QuerySet[LiaisonAssignment]) -> None:
    """Recount the compounds of assignments this action has just ended (see registry.refresh_household_counts).

    Read after the UPDATE that ended them, so an assignment committed by someone else just before that UPDATE, and
    ended by it, is recounted too; assignments ended earlier on the same day only add a harmless recount.
    """
    refresh_household_counts(assignments.values_list("unit__compound_id", flat=True).distinct())


def _invalid(field: str | None, zh: str, en: str) -> ValidationError:
    return ValidationError({field or "__all__": [f"{zh} / {en}"]})


def check_chain(kind: OrgKind, node: AreaNode, parent: Organization | None, *, project_ref: str = "") -> None:
    """Raise ValidationError (by field) unless `kind` may sit at `node` under `parent`.

    The rules read the kinds as data: a kind with an expected level sits at that level; a kind in the party
    chain (chain_rank > 1) needs a parent of its parent kind; any parent must be current and contain the node.
    """
    errors: dict[str, list[str]] = {}

    def add(field: str, zh: str, en: str) -> None:
        errors.setdefault(field, []).append(f"{zh} / {en}")

    if kind.code == kinds.PARTY_LIAISON:
        add(
            "kind",
            _("党员联络员是党组织成员的职务，不是一个组织：请在楼院党小组中添加联络员"),
            "a party liaison is a member role, not an organisation: add the liaison as a member of a party group",
        )
    if kind.expected_level and node.level.code != kind.expected_level:
        add(
            "node",
            _("%(kind)s应设在“%(expected)s”一级，所选区域“%(node)s”是“%(level)s”")
            % {
                "kind": kind.name,
                "expected": _level_name(kind.expected_level),
                "node": node.name,
                "level": node.level.name,
            },
            f"a {kind.name_en.lower()} belongs at the {kind.expected_level} level; {node.name} is at the "
            f"{node.level.code} level",
        )
    if parent is not None:
        if kind.parent_kind_id and parent.kind_id != kind.parent_kind_id:
            add(
                "parent",
                _("%(kind)s的上级组织必须是%(parent_kind)s，所选上级是%(chosen)s")
                % {"kind": kind.name, "parent_kind": kind.parent_kind.name, "chosen": parent.kind.name},
                f"the parent of a {kind.name_en.lower()} must be a {kind.parent_kind.name_en.lower()}, not a {parent.kind.name_en.lower()}",
            )
        if parent.dissolved is not None:
            add("parent", _("所选上级组织已撤销"), "the chosen parent organisation has been dissolved")
        if not node.path.startswith(parent.path):
            add(
                "parent",
                _("上级组织所在区域必须包含本组织所在区域"),
                "the parent organisation's area must contain this organisation's area",
            )
    elif kind.parent_kind_id and (kind.chain_rank or 0) > 1:
        add(
            "parent",
            _("%(kind)s必须有上级组织（%(parent_kind)s）") % {"kind": kind.name, "parent_kind": kind.parent_kind.name},
            f"a {kind.name_en.lower()} needs a parent organisation (a {kind.parent_kind.name_en.lower()})",
        )
    if kind.is_temporary and not project_ref.strip():
        add("project_ref", _("临时党支部必须填写关联项目"), "a temporary party branch must name its project")
    if errors:
        raise ValidationError(errors)


def _level_name(code: str) -> str:
    level = AreaLevel.objects.filter(code=code).first()
    return level.label if level else code


@transaction.atomic
def create_organization(
    *,
    actor: User | None,
    kind: OrgKind,
    node: AreaNode,
    name: str,
    parent: Organization | None = None,
    project_ref: str = "",
    phone: str = "",
    founded: date | None = None,
    legal_person: Person | None = None,
) -> Organization:
    require(actor, "organizations.add_organization", node)
    name = (name or "").strip()
    if not name:
        raise _invalid("name", _("组织名称不能为空"), "name is required")
    check_chain(kind, node, parent, project_ref=project_ref)
    org = Organization(
        kind=kind,
        node=node,
        name=name,
        parent=parent,
        project_ref=project_ref.strip(),
        phone=phone.strip(),
        founded=founded,
        legal_person=legal_person,
    )
    org.save()
    audit.record(
        "organizations.create",
        org,
        actor=actor,
        changes={
            "kind": kind.code,
            "node": node.pk,
            "name": name,
            "parent": parent.pk if parent else None,
            "project_ref": project_ref,
        },
    )
    return org


@transaction.atomic
def update_organization(org: Organization, *, actor: User | None, **fields: Any) -> Organization:
    require(actor, "organizations.change_organization", org)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise _invalid(sorted(unknown)[0], _("该字段不能修改"), "this field cannot be changed")
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            raise _invalid("name", _("组织名称不能为空"), "name is required")
    if org.kind.is_temporary and "project_ref" in fields and not (fields["project_ref"] or "").strip():
        raise _invalid("project_ref", _("临时党支部必须填写关联项目"), "a temporary party branch must name its project")
    before = {k: getattr(org, k) for k in fields}
    for key, value in fields.items():
        setattr(org, key, value)
    org.save()
    after = {k: getattr(org, k) for k in fields}
    audit.record("organizations.update", org, actor=actor, changes=audit.diff(_ids(before), _ids(after)))
    return org


def _ids(values: dict) -> dict:
    return {k: (v.pk if hasattr(v, "pk") else v) for k, v in values.items()}


@transaction.atomic
def dissolve_organization(org: Organization, *, actor: User | None, on: date | None = None) -> Organization:
    """撤销 — end the organisation, its current memberships and their liaison assignments."""
    require(actor, "organizations.dissolve_organization", org)
    on = on or timezone.localdate()
    if org.dissolved is not None:
        raise _invalid(None, _("该组织已撤销"), "this organisation is already dissolved")
    if org.children.filter(dissolved__isnull=True).exists():
        raise _invalid(None, _("请先撤销或调整其下级组织"), "dissolve or move its child organisations first")
    current = Membership.objects.filter(organization=org, until__isnull=True)
    ended_assignments = LiaisonAssignment.objects.filter(liaison__in=current, until__isnull=True).update(until=on)
    ended_members = current.update(until=on)
    if ended_assignments:
        _recount_ended(LiaisonAssignment.objects.filter(liaison__organization=org, until=on))
    org.dissolved = on
    org.save(update_fields=["dissolved"])
    audit.record(
        "organizations.dissolve",
        org,
        actor=actor,
        changes={"dissolved": on, "memberships_ended": ended_members, "liaison_assignments_ended": ended_assignments},
    )
    return org


@transaction.atomic
def add_member(
    org: Organization,
    *,
    actor: User | None,
    person: Person,
    role: str = Membership.Role.MEMBER,
    is_party_member: bool = False,
    since: date | None = None,
) -> Membership:
    require(actor, "organizations.change_membership", org)
    if org.dissolved is not None:
        raise _invalid(None, _("该组织已撤销，不能添加成员"), "this organisation is dissolved; it takes no members")
    if role not in Membership.Role.values:
        raise _invalid("role", _("职务无效"), "unknown role")
    if role == Membership.Role.LIAISON:
        if org.kind.category != "party":
            raise _invalid("role", _("党员联络员只能在党组织中设立"), "a party liaison belongs to a party organisation")
        if not is_party_member:
            raise _invalid("is_party_member", _("党员联络员必须是党员"), "a party liaison must be a party member")
    if person.home_path and actor is not None and not actor.has_perm("registry.view_person", person):
        raise _invalid("person", _("该人员不在您的管辖范围内"), "this person is outside your area")
    if Membership.objects.filter(organization=org, person=person, role=role, until__isnull=True).exists():
        raise _invalid("person", _("此人已担任该职务"), "this person already holds this role here")
    try:
        with transaction.atomic():  # the constraint decides a race between two clerks adding the same member
            membership = Membership.objects.create(
                organization=org,
                person=person,
                role=role,
                is_party_member=is_party_member,
                since=since or timezone.localdate(),
            )
    except IntegrityError:
        raise _invalid("person", _("此人已担任该职务"), "this person already holds this role here")
    audit.record(
        "organizations.add_member",
        org,
        actor=actor,
        changes={"membership": membership.pk, "person": person.pk, "role": role, "is_party_member": is_party_member},
    )
    return membership


@transaction.atomic
def end_membership(membership: Membership, *, actor: User | None, until: date | None = None) -> Membership:
    """End a membership; a liaison's households are released (they show again as 'no liaison')."""
    require(actor, "organizations.change_membership", membership.organization)
    if membership.until is not None:
        raise _invalid(None, _("该成员已离任"), "this membership has already ended")
    until = until or timezone.localdate()
    released = LiaisonAssignment.objects.filter(liaison=membership, until__isnull=True).update(until=until)
    if released:
        _recount_ended(LiaisonAssignment.objects.filter(liaison=membership, until=until))
    membership.until = until
    membership.save(update_fields=["until"])
    audit.record(
        "organizations.end_membership",
        membership.organization,
        actor=actor,
        changes={"membership": membership.pk, "person": membership.person_id, "until": until, "released": released},
    )
    return membership


def _check_liaison(membership: Membership) -> None:
    if membership.role != Membership.Role.LIAISON:
        raise _invalid(
            "liaison",
            _("只有职务为党员联络员的成员才能联系住户"),
            "only a member with the liaison role looks after households",
        )
    if membership.until is not None:
        raise _invalid("liaison", _("该联络员已离任"), "this liaison's membership has ended")


@transaction.atomic
def assign_liaison(
    membership: Membership, units: Iterable[Unit], *, actor: User | None, since: date | None = None
) -> list[LiaisonAssignment]:
    """Give households to a liaison. A unit has one current liaison: a previous one is ended, not duplicated."""
    org = membership.organization
    require(actor, "organizations.assign_liaison", org)
    _check_liaison(membership)
    units = list({u.pk: u for u in units}.values())
    if not units:
        raise _invalid("units", _("请至少选择一户"), "choose at least one household")
    outside = [u for u in units if not u.path.startswith(org.path)]
    if outside:
        raise _invalid(
            "units",
            _("以下房屋不在本组织所在区域内：%(units)s") % {"units": "、".join(u.number for u in outside[:10])},
            f"these units lie outside the organisation's area: {', '.join(u.number for u in outside[:10])}",
        )
    since = since or timezone.localdate()
    ids = [u.pk for u in units]
    current = LiaisonAssignment.objects.filter(unit_id__in=ids, until__isnull=True)
    already = set(current.filter(liaison=membership).values_list("unit_id", flat=True))
    replaced = list(current.exclude(liaison=membership).values_list("unit_id", "liaison_id"))
    current.exclude(liaison=membership).update(until=since)
    try:
        with transaction.atomic():  # one current liaison per unit is a DB constraint: a racing clerk loses here
            created = LiaisonAssignment.objects.bulk_create(
                [LiaisonAssignment(liaison=membership, unit_id=pk, since=since) for pk in ids if pk not in already]
            )
    except IntegrityError:
        raise _invalid(
            "units",
            _("这些住户刚被分配给其他联络员，请刷新后重试"),
            "these households were just assigned to another liaison; reload and try again",
        )
    if created or replaced:  # the stored figures of the compounds concerned (replaced units are among `units`)
        refresh_household_counts(Unit.objects.filter(pk__in=ids).values_list("compound_id", flat=True).distinct())
    audit.record(
        "organizations.assign_liaison",
        org,
        actor=actor,
        changes={
            "membership": membership.pk,
            "units": sorted(set(ids) - already),
            "replaced": [{"unit": u, "membership": m} for u, m in replaced],
        },
    )
    return created


@transaction.atomic
def unassign_liaison(
    membership: Membership, units: Iterable[Unit] | None = None, *, actor: User | None, until: date | None = None
) -> int:
    """Release some (or all, when `units` is None) of a liaison's households; returns how many."""
    require(actor, "organizations.assign_liaison", membership.organization)
    qs = LiaisonAssignment.objects.filter(liaison=membership, until__isnull=True)
    chosen = None if units is None else [u.pk for u in units]
    if chosen is not None:
        qs = qs.filter(unit_id__in=chosen)
    unit_ids = list(qs.values_list("unit_id", flat=True))
    until = until or timezone.localdate()
    count = qs.update(until=until)
    if count:
        ended = LiaisonAssignment.objects.filter(liaison=membership, until=until)
        _recount_ended(ended if chosen is None else ended.filter(unit_id__in=chosen))
    audit.record(
        "organizations.unassign_liaison",
        membership.organization,
        actor=actor,
        changes={"membership": membership.pk, "units": unit_ids},
    )
    return count
