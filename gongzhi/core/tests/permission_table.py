"""Core's pages, the API's own pages and the admin: who gets what (see testkit.permissions)."""

import io

from PIL import Image

from gongzhi.core.uploads import store_upload
from testkit.permissions import PUBLIC, SIGNED_IN, Api, Page

# A user's API tokens (`core.revoke_api_tokens`): the user himself, and whoever manages his second factor (a
# district admin over all of his roles). The target is the resident of the community, who revokes his own.
TOKEN_OWNER = ("resident", "in")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, "PNG")
    return out.getvalue()


def setup(world):
    world.upload = store_upload(_png(), name="photo.png", kind="photo", scope_path=world.mini.courtyard.path)


TABLE = [
    Page("core:home", who=SIGNED_IN, anon=200),  # anonymous: the front door (hotline, public services)
    Page("core:baseline", who=SIGNED_IN),
    Page("core:login", who=frozenset(), refused=302, anon=200),  # a signed-in reader is sent on
    Page("core:sms-login", who=PUBLIC),
    Page("core:otp", who=SIGNED_IN),
    Page("core:logout", who=PUBLIC, ok=405),  # signing out is a POST
    Page("core:second-factor-users", who="second_factor.manage"),
    Page("core:upload", who="staff", kwargs=lambda w: {"key": w.upload.key}, out=403),
    Page("set_language", who=PUBLIC, method="post", ok=302, anon=302, data={"language": "en"}),
    # A GET: only POST makes a token (anyone); DELETE revokes one's own, so other methods need a signed-in caller.
    Page("api-token", who=PUBLIC, ok=405, anon=401),
    Page("api-schema", who=PUBLIC),  # the OpenAPI document and its reader are public
    Page("api-docs", who=PUBLIC),
    # Django's admin: the back-office accounts reach the index; each ModelAdmin then asks the gate.
    Page("admin:index", who=SIGNED_IN, ok=302, anon=302),
    Page("api-user-token", who=SIGNED_IN, ok=405, anon=401, kwargs=lambda w: {"pk": w.users[TOKEN_OWNER].pk}),
    Api(
        "/api/v1/users/{id}/token/",
        "delete",
        who="second_factor.manage",
        kwargs=lambda w: {"id": w.users[TOKEN_OWNER].pk},
        ok=204,
        out=403,
        expect={TOKEN_OWNER: 204},
    ),
    Api("/api/v1/token/", "post", who=PUBLIC, ok=400, anon=400),  # no credentials in the body: 400 naming them
    Api("/api/v1/token/", "delete", who=SIGNED_IN, ok=204),  # revoke one's own tokens
]
