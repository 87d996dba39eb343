from django.apps import AppConfig


class ServiceDeskConfig(AppConfig):
    name = "gongzhi.servicedesk"
    label = "servicedesk"

    def ready(self) -> None:
        from gongzhi.servicedesk import hooks

        hooks.connect()
