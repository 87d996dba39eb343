from django.apps import AppConfig


class BulkywasteConfig(AppConfig):
    name = "gongzhi.bulkywaste"
    label = "bulkywaste"

    def ready(self) -> None:
        # here, not at the top: app modules load only once the registry is ready
        from gongzhi.bulkywaste import privacy  # (likewise)
        from gongzhi.bulkywaste.frontdoor import offer  # (likewise)
        from gongzhi.core.frontdoor import provides

        provides(offer)
        privacy.register()
