from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganizationsConfig(AppConfig):
    name = "gongzhi.organizations"
    label = "organizations"
    verbose_name = _("组织")

    def ready(self) -> None:
        from gongzhi.organizations import privacy  # here: app modules load only once the registry is ready

        privacy.register()
