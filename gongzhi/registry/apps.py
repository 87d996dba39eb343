from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "gongzhi.registry"
    label = "registry"
    verbose_name = _("基础台账")

    def ready(self) -> None:
        from gongzhi.registry import privacy  # here: app modules load only once the registry is ready

        privacy.register()
