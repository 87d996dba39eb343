"""The sections each user is offered in the top navigation and on the start page, by permission.

A section names the permission that shows it (asked of the gate without an object: "may this reader use this
part anywhere?"), so the menu follows the same rules as the pages. `SIGNED_IN` shows a section to every
signed-in reader. A new part adds one `Section` line here and its `view_menu` permission in its `rules.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from gongzhi.core.gate import allows
from gongzhi.core.rules import SIGNED_IN


@dataclass(frozen=True)
class Section:
    url_name: str
    title: Promise
    description: Promise
    perm: str  # the permission that shows the section (SIGNED_IN: every signed-in reader)
    in_nav: bool = True


SECTIONS = (
    Section("registry:browse", _("区域与房屋"), _("逐级查看街道、社区、楼院、楼栋和房屋"), "registry.view_menu"),
    Section("registry:search", _("搜索"), _("按名称或地址查找小区、楼院"), "registry.view_menu", in_nav=False),
    Section(
        "organizations:coverage",
        _("组织覆盖"),
        _("哪些楼院缺少三类组织，哪些住户没有联络员"),
        "organizations.view_menu",
    ),
    Section("deliberation:list", _("议事"), _("一征三议两公开：征求意见、提议、审议、决议和公开"), SIGNED_IN),
    Section("voting:list", _("投票表决"), _("业主表决、居民会议和改造意愿征询"), "voting.view_vote_list"),
    Section("voting:mine", _("我的投票"), _("参加本小区的业主投票，查验回执"), "voting.view_menu_mine"),
    Section("surveys:list", _("问卷调查"), _("问卷、入户代录，知晓率、参与率、满意率及其口径"), SIGNED_IN),
    Section("notices:list", _("公示"), _("表决名册、决议、结果和账目公示"), SIGNED_IN),
    Section("renovation:start", _("老旧小区改造"), _("改造菜单与点单、施工进度、质量监督和竣工验收"), SIGNED_IN),
    Section(
        "servicedesk:start", _("诉求办理"), _("群众点单、社区派单、党员接单：反映问题、派单、回访和公开看板"), SIGNED_IN
    ),
    Section("bulkywaste:start", _("大件垃圾上门回收"), _("预约、热线登记、调度排线、收运和统计"), SIGNED_IN),
    Section(
        "core:second-factor-users",
        _("二次验证绑定码"),
        _("为需要二次验证的人员签发绑定码；手机丢失时重置"),
        "core.manage_second_factor",
        in_nav=False,
    ),
)


def sections_for(user) -> list[dict]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [
        {"url": reverse(s.url_name), "title": s.title, "description": s.description, "in_nav": s.in_nav}
        for s in SECTIONS
        if allows(user, s.perm)
    ]
