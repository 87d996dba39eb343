"""Registry permissions: staff see what lies in their scope; editors change it; few see unmasked data."""

import rules

from gongzhi.core.rules import holds, is_registry_editor, is_staff_in_scope, sees_unmasked_pii
from gongzhi.registry.models import Unit


@rules.predicate
def person_not_erased(user, person) -> bool:
    return person is None or getattr(person, "erased_at", None) is None


_PERSON_DATA = holds("pii.person_data")


@rules.predicate
def holds_person_data_over(user, person) -> bool:
    """pii.person_data held over the person's home, or over a unit they own or live in (an owner imported without
    a home is still someone's to answer for)."""
    if person is None or _PERSON_DATA(user, person):
        return _PERSON_DATA(user, person)
    paths = {
        *person.ownerships.values_list("unit__path", flat=True),
        *person.residences.values_list("unit__path", flat=True),
    }
    return any(_PERSON_DATA(user, Unit(path=path)) for path in paths)


rules.add_perm("registry.view_menu", holds("registry.browse"))  # the menu entries (not the field roles)
rules.add_perm("registry.view_areanode", is_staff_in_scope)
rules.add_perm("registry.change_areanode", is_registry_editor)
rules.add_perm("registry.add_areanode", is_registry_editor)
rules.add_perm("registry.view_unit", is_staff_in_scope)
rules.add_perm("registry.change_unit", is_registry_editor)
rules.add_perm("registry.view_person", is_staff_in_scope)
rules.add_perm("registry.change_person", is_registry_editor)
rules.add_perm("registry.view_person_unmasked", sees_unmasked_pii)
# A person's own data: a copy of all of it, or its erasure (PIPL Arts. 45, 47); see registry.actions.
rules.add_perm("registry.export_person_data", holds_person_data_over)
rules.add_perm("registry.erase_person", holds_person_data_over & person_not_erased)
rules.add_perm("registry.import_roster", is_registry_editor)
rules.add_perm("registry.export_roster", is_registry_editor)
rules.add_perm("registry.view_unitset", is_staff_in_scope)
rules.add_perm("registry.change_unitset", is_registry_editor)
# The nightly recount of the counts stored on the area nodes: a system job (actor None), or a superuser.
rules.add_perm("registry.recount_counts", rules.is_superuser)


@rules.predicate
def created_the_import_job(user, job) -> bool:
    return job is not None and job.created_by_id is not None and job.created_by_id == user.pk


# A roster import's job and report: the one who started it, and the staff who may import into the compound.
rules.add_perm("registry.view_importjob", created_the_import_job | is_registry_editor)
