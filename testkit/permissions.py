"""Generated permission tests (after NetBox's): every URL and API operation, every role, in and out of scope.

Each app says what every one of its URLs answers in its own `gongzhi/<app>/tests/permission_table.py`:

    TABLE = [
        Page("registry:node", who="staff", kwargs=lambda w: {"pk": w.mini.courtyard.pk}, out=404),
        Api("/api/v1/nodes/{id}/", "get", who="staff", kwargs=lambda w: {"id": w.mini.courtyard.pk}, out=404),
    ]
    def setup(world): ...   # optional: make the objects its entries need (world.matter = ...)

`who` names a capability of `gongzhi.core.roles.CAPABILITIES` (or `SIGNED_IN`, `PUBLIC`, or a set of role
codes). The expected answer is read from that data, not from the predicates under test:

- anonymous: the sign-in page (302) for a page, 401 for the API, `ok` for PUBLIC (or `anon=`);
- a role with the capability, held over the object's area ("in scope"): `ok` (200 unless said);
- the same role held in the other subdistrict ("out of scope"): `out` (default: `ok` for an entry without an
  object, 404 with one — out of sight is answered as absent);
- a role without it: `refused` (403 unless said);
- `expect={"resident": 404, ("crew", "out"): 403}` states the exceptions, per role or per (role, scope).

`gongzhi/core/tests/test_permission_table.py` walks the URL resolver and the OpenAPI document: a URL name or
an API operation without an entry fails the suite, so a new part adds its table with its URLs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.apps import apps
from django.test import Client

from gongzhi.core.roles import CAPABILITIES, ROLES

SIGNED_IN = "signed-in"
PUBLIC = "public"
SCOPES = ("in", "out")


@dataclass(frozen=True)
class Entry:
    who: str | frozenset[str]
    method: str = "get"
    kwargs: Callable | None = None  # world -> the URL's arguments (None: the URL takes none)
    data: Callable | dict | None = None  # the body of a POST (a dict, or world -> dict)
    ok: int = 200
    refused: int = 403
    out: int | None = None
    anon: int | None = None
    expect: dict = field(default_factory=dict)
    form: bool = False  # an API operation that takes a multipart form (a file upload), not JSON
    query: str | Callable = ""  # "?node=1", or world -> that

    def query_string(self, world) -> str:
        return self.query(world) if callable(self.query) else self.query

    def roles(self) -> frozenset[str]:
        if self.who in (SIGNED_IN, PUBLIC):
            return frozenset(ROLES)
        if isinstance(self.who, str):
            return CAPABILITIES[self.who]
        return frozenset(self.who)

    def expected(self, role: str | None, scope: str) -> int:
        if role is None:
            if "anonymous" in self.expect:
                return self.expect["anonymous"]
            if self.anon is not None:
                return self.anon
            return self.ok if self.who == PUBLIC else self.anonymous_answer
        for key in ((role, scope), role):
            if key in self.expect:
                return self.expect[key]
        if role not in self.roles():
            return self.refused
        if scope == "in" or self.who in (SIGNED_IN, PUBLIC):
            return self.ok
        if self.out is not None:
            return self.out
        return self.ok if self.kwargs is None else 404

    def args(self, world) -> dict:
        return self.kwargs(world) if self.kwargs else {}

    def body(self, world) -> dict | None:
        return self.data(world) if callable(self.data) else self.data


@dataclass(frozen=True)
class Page(Entry):
    """A page (or a file) by URL name, e.g. "registry:node"."""

    name: str = ""
    anonymous_answer = 302

    def __init__(self, name: str, **kw):
        object.__setattr__(self, "name", name)
        for k, v in Entry(who=kw.pop("who"), **kw).__dict__.items():
            object.__setattr__(self, k, v)

    def key(self):
        return ("page", self.name, self.method)

    def url(self, world) -> str:
        from django.urls import reverse

        return reverse(self.name, kwargs=self.args(world)) + self.query_string(world)


@dataclass(frozen=True)
class Api(Entry):
    """An API operation by its OpenAPI path and method, e.g. ("/api/v1/nodes/{id}/", "get")."""

    path: str = ""
    anonymous_answer = 401

    def __init__(self, path: str, method: str = "get", **kw):
        object.__setattr__(self, "path", path)
        for k, v in Entry(who=kw.pop("who"), method=method, **kw).__dict__.items():
            object.__setattr__(self, k, v)

    def key(self):
        return ("api", self.path, self.method)

    def url(self, world) -> str:
        return self.path.format(**self.args(world)) + self.query_string(world)


def tables() -> dict[str, object]:
    """app label -> its `tests.permission_table` module, for every installed Gongzhi app that has one."""
    found = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("gongzhi."):
            continue
        try:
            found[config.label] = importlib.import_module(f"{config.name}.tests.permission_table")
        except ModuleNotFoundError as e:
            if e.name not in (f"{config.name}.tests", f"{config.name}.tests.permission_table"):
                raise
    return found


def build_world(mini, modules) -> SimpleNamespace:
    """The mini district, a user per role in scope (the community) and out of it (the other subdistrict)."""
    from testkit.world import make_user

    world = SimpleNamespace(mini=mini, users={})
    # A table may hold its roles higher up (IN_SCOPE_AT = "subdistrict": bulky waste's service area).
    at = {getattr(m, "IN_SCOPE_AT", "community") for m in modules}
    assert len(at) == 1, "tables run together must agree on IN_SCOPE_AT"
    home = getattr(mini, at.pop())
    for role in ROLES:
        world.users[(role, "in")] = make_user(f"perm-{role}-in", role, home)
        world.users[(role, "out")] = make_user(f"perm-{role}-out", role, mini.other_subdistrict)
    for module in modules:
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(world)
    return world


def signed_in_client(user, **defaults) -> Client:
    """A client signed in as `user`, past the second factor where the role needs one (`defaults`: its environ)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from gongzhi.core.rules import needs_second_factor

    client = Client(**defaults)
    client.force_login(user)
    if needs_second_factor(user):
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


def run(entries, world) -> list[str]:
    """Ask every entry as anonymous and as every role in and out of scope; the mismatches, one line each."""
    # Each asker asks from an address of its own, as people do: limits kept per address (core.limits: sign-in,
    # tokens, reports) then count each asker apart instead of refusing the later ones with 429.
    clients = {None: Client(REMOTE_ADDR="10.0.0.1")}
    problems = []
    for entry in entries:
        askers = [(None, "in")]
        for role in ROLES:
            askers.append((role, "in"))
            # Out of scope matters for those who would be let in, and for explicit exceptions.
            if role in entry.roles() or (role, "out") in entry.expect:
                askers.append((role, "out"))
        for role, scope in askers:
            asker = (role, scope) if role else None
            if asker not in clients:
                address = f"10.0.{len(clients) // 250}.{len(clients) % 250 + 1}"
                clients[asker] = signed_in_client(world.users[asker], REMOTE_ADDR=address)
            client = clients[asker]
            url = entry.url(world)
            if entry.method == "get":
                response = client.get(url)
            elif isinstance(entry, Api) and not entry.form:  # the API takes JSON
                response = getattr(client, entry.method)(url, entry.body(world) or {}, content_type="application/json")
            else:
                response = getattr(client, entry.method)(url, entry.body(world) or {})
            want = entry.expected(role, scope)
            got = response.status_code
            if got == 302 and role is None and want == 302 and entry.anon is None:
                if "login" not in response.headers.get("Location", ""):
                    problems.append(f"{entry.key()} anonymous: 302 to {response.headers['Location']}, not sign-in")
                continue
            if got != want:
                who = "anonymous" if role is None else f"{role} ({scope} scope)"
                problems.append(f"{entry.method.upper()} {url} [{entry.key()[1]}] {who}: expected {want}, got {got}")
    return problems
