from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "gongzhi.surveys"
    label = "surveys"

    def ready(self) -> None:
        from gongzhi.surveys import participation  # noqa: F401  (registers the built-in participation sources)
