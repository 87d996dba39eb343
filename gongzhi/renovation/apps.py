from django.apps import AppConfig


class RenovationConfig(AppConfig):
    name = "gongzhi.renovation"
    label = "renovation"

    def ready(self) -> None:
        from gongzhi.renovation import privacy  # here: app modules load only once the registry is ready

        privacy.register()
        # here, not at the top: participation imports models, which are not loaded yet when apps.py is
        from gongzhi.renovation.participation import participating_households
        from gongzhi.surveys.participation import register_source  # (likewise: it imports the surveys' models)

        register_source("renovation.orders", participating_households)
