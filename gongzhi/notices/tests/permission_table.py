"""Notices: published ones are public; publishers in scope post, change and withdraw them."""

from gongzhi.notices import actions
from gongzhi.notices.tasks import render_notice_pdf
from testkit.permissions import PUBLIC, Api, Page


def setup(world):
    world.notice = actions.publish_notice(
        actor=None, kind="other", title="停水通知", body="明日上午停水。", node=world.mini.courtyard, days=7
    )
    render_notice_pdf.call(world.notice.pk)  # rendered once already: every reader then gets the file


def notice(w):
    return {"pk": w.notice.pk}


TABLE = [
    Page("notices:list", who=PUBLIC),
    Page("notices:detail", who=PUBLIC, kwargs=notice),
    Page("notices:pdf", who=PUBLIC, kwargs=notice),
    Page("notices:new", who="notices.publish", query=lambda w: f"?node={w.mini.courtyard.pk}", out=403),
    Page("notices:withdraw", who="notices.publish", method="post", kwargs=notice, ok=302, out=403),
    Api("/api/v1/notices/", who=PUBLIC),
    Api("/api/v1/notices/{id}/", who=PUBLIC, kwargs=lambda w: {"id": w.notice.pk}),
]
