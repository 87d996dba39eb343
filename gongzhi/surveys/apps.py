from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "gongzhi.surveys"
    label = "surveys"

    def ready(self) -> None:
        # here: app modules load only once the registry is ready; participation registers its sources on import
        from gongzhi.surveys import participation, privacy  # noqa: F401

        privacy.register()
