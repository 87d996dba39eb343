"""The registry's pages and API: who gets what, in scope (铁道家园社区) and out of it (大学路街道)."""

from gongzhi.registry.models import ImportJob, Person
from testkit.permissions import SIGNED_IN, Api, Page


def setup(world):
    # A finished dry run of the compound's roster, started by nobody in particular (the system).
    world.import_job = ImportJob.objects.create(
        compound=world.mini.courtyard,
        scope_path=world.mini.courtyard.path,
        token="t" * 32,
        sha256="0" * 64,
        size=10,
        dry_run=True,
        status=ImportJob.Status.DONE,
        report={"rows": 0, "bad_rows": [], "written": False, "errors": []},
    )


def courtyard(w):
    return {"pk": w.mini.courtyard.pk}


def unit(w):
    return {"pk": w.mini.units[0].pk}


def person(w):
    return {"pk": Person.objects.get(name="张建国").pk}


def job(w):
    return {"pk": w.import_job.pk}


def export_node(w):
    return {"node_pk": w.mini.courtyard.pk}


TABLE = [
    Page("registry:browse", who="staff"),
    Page("registry:search", who="staff"),
    Page("registry:node", who="staff", kwargs=courtyard),
    Page("registry:unit", who="staff", kwargs=unit),
    Page("registry:person", who="staff", kwargs=person),
    # A person's own data (PIPL Arts. 45, 47): a copy (POST: taken on purpose, audited) and the erase page.
    Page("registry:person-export", who="pii.person_data", method="post", kwargs=person),
    Page("registry:person-erase", who="pii.person_data", kwargs=person),
    Page("registry:import", who="registry.edit"),
    Page("registry:import-template", who="registry.edit"),
    # A job and its problems: the one who started it and the editors over the compound; others: as if absent.
    Page("registry:import-job", who="registry.edit", kwargs=job, refused=404),
    Page("registry:import-problems", who="registry.edit", kwargs=job, refused=404),
    # A dry run's review and result are named by the stash token; an unknown one is absent for everyone.
    Page("registry:import-review", who=SIGNED_IN, kwargs=lambda w: {"token": "x" * 32}, ok=404),
    Page("registry:import-done", who=SIGNED_IN, kwargs=lambda w: {"token": "x" * 32}, ok=404),
    Page("registry:export", who="registry.edit", kwargs=export_node, out=403),
    Page("registry:export-xlsx", who="registry.edit", kwargs=export_node, out=403),
    Page("registry:export-csv", who="registry.edit", kwargs=export_node, out=403),
    Api("/api/v1/nodes/", who="staff"),
    Api("/api/v1/nodes/{id}/", who="staff", kwargs=lambda w: {"id": w.mini.courtyard.pk}),
    Api("/api/v1/units/", who="staff"),
    Api("/api/v1/units/{id}/", who="staff", kwargs=lambda w: {"id": w.mini.units[0].pk}),
    Api("/api/v1/persons/lookup/", "post", who="staff", ok=400),  # an empty body: 400 naming the field
    Api("/api/v1/roster-imports/", "post", who=SIGNED_IN, ok=400, form=True),  # no file: 400 before any compound
    Api("/api/v1/roster-imports/{id}/", who="registry.edit", kwargs=lambda w: {"id": w.import_job.pk}, refused=404),
]
