from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "gongzhi.surveys"
    label = "surveys"

    def ready(self) -> None:
        # here: app modules load only once the registry is ready; participation registers its sources on import
        from gongzhi.surveys import links, participation, privacy  # noqa: F401

        privacy.register()
        links.register()  # the matter page's surveys, and its 以问卷征求需求 (deliberation imports no surveys)
