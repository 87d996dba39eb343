"""Core's pages, the API's own pages and the admin: who gets what (see testkit.permissions)."""

import io

from PIL import Image

from gongzhi.core.uploads import store_upload
from testkit.permissions import PUBLIC, SIGNED_IN, Api, Page


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, "PNG")
    return out.getvalue()


def setup(world):
    world.upload = store_upload(_png(), name="photo.png", kind="photo", scope_path=world.mini.courtyard.path)


TABLE = [
    Page("core:home", who=SIGNED_IN),
    Page("core:baseline", who=SIGNED_IN),
    Page("core:login", who=frozenset(), refused=302, anon=200),  # a signed-in reader is sent on
    Page("core:sms-login", who=PUBLIC),
    Page("core:otp", who=SIGNED_IN),
    Page("core:logout", who=PUBLIC, ok=405),  # signing out is a POST
    Page("core:second-factor-users", who="second_factor.manage"),
    Page("core:upload", who="staff", kwargs=lambda w: {"key": w.upload.key}, out=403),
    Page("set_language", who=PUBLIC, method="post", ok=302, anon=302, data={"language": "en"}),
    Page("api-token", who=PUBLIC, ok=405),  # a GET: only POST makes a token
    Page("api-schema", who=PUBLIC),  # the OpenAPI document and its reader are public
    Page("api-docs", who=PUBLIC),
    # Django's admin: the back-office accounts reach the index; each ModelAdmin then asks the gate.
    Page("admin:index", who=SIGNED_IN, ok=302, anon=302),
    Api("/api/v1/token/", "post", who=PUBLIC, ok=400, anon=400),  # no credentials in the body: 400 naming them
]
