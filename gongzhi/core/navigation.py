"""The sections each user is offered in the top navigation and on the start page, by role."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from gongzhi.core.roles import STAFF_ROLES
from gongzhi.core.rules import has_role

EVERYONE = None  # shown to every signed-in user


@dataclass(frozen=True)
class Section:
    url_name: str
    title: Promise
    description: Promise
    roles: frozenset[str] | None
    in_nav: bool = True


REGISTRY_ROLES = STAFF_ROLES - {"crew", "contractor", "dispatcher"}

SECTIONS = (
    Section("registry:browse", _("区域与房屋"), _("逐级查看街道、社区、楼院、楼栋和房屋"), REGISTRY_ROLES),
    Section("registry:search", _("搜索"), _("按名称或地址查找小区、楼院"), REGISTRY_ROLES, in_nav=False),
    Section("organizations:coverage", _("组织覆盖"), _("哪些楼院缺少三类组织，哪些住户没有联络员"), REGISTRY_ROLES),
    Section("deliberation:list", _("议事"), _("一征三议两公开：征求意见、提议、审议、决议和公开"), EVERYONE),
    Section("voting:list", _("投票表决"), _("业主表决、居民会议和改造意愿征询"), STAFF_ROLES),
    Section("voting:mine", _("我的投票"), _("参加本小区的业主投票，查验回执"), frozenset({"resident"})),
    Section("surveys:list", _("问卷调查"), _("问卷、入户代录，知晓率、参与率、满意率及其口径"), EVERYONE),
    Section("notices:list", _("公示"), _("表决名册、决议、结果和账目公示"), EVERYONE),
    Section("renovation:start", _("老旧小区改造"), _("改造菜单与点单、施工进度、质量监督和竣工验收"), EVERYONE),
    Section(
        "servicedesk:start", _("诉求办理"), _("群众点单、社区派单、党员接单：反映问题、派单、回访和公开看板"), EVERYONE
    ),
    Section("bulkywaste:start", _("大件垃圾上门回收"), _("预约、热线登记、调度排线、收运和统计"), EVERYONE),
    Section(
        "core:second-factor-users",
        _("二次验证绑定码"),
        _("为需要二次验证的人员签发绑定码；手机丢失时重置"),
        frozenset({"district_admin"}),
        in_nav=False,
    ),
)


def sections_for(user) -> list[dict]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [
        {"url": reverse(s.url_name), "title": s.title, "description": s.description, "in_nav": s.in_nav}
        for s in SECTIONS
        if s.roles is EVERYONE or has_role(user, s.roles)
    ]
