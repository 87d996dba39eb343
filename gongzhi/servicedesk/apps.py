from django.apps import AppConfig


class ServiceDeskConfig(AppConfig):
    name = "gongzhi.servicedesk"
    label = "servicedesk"

    def ready(self) -> None:
        # here, not at the top: hooks imports models, which are not loaded yet when apps.py is
        from gongzhi.servicedesk import hooks

        hooks.connect()
