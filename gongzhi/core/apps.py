from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "gongzhi.core"
    label = "core"
    verbose_name = _("平台基础")

    def ready(self):
        from gongzhi.core import auth_backends, rules  # noqa: F401 - signal receivers and predicates
        from gongzhi.core.privacy import register_core  # here: as above

        register_core()
