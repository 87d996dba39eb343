from django.apps import AppConfig


class RenovationConfig(AppConfig):
    name = "gongzhi.renovation"
    label = "renovation"

    def ready(self) -> None:
        from gongzhi.renovation import privacy  # here: app modules load only once the registry is ready

        privacy.register()
