from django.apps import AppConfig


class DeliberationConfig(AppConfig):
    name = "gongzhi.deliberation"
    label = "deliberation"

    def ready(self) -> None:
        from gongzhi.deliberation import privacy  # here: app modules load only once the registry is ready

        privacy.register()
