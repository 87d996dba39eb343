from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "gongzhi.notices"
    label = "notices"

    def ready(self) -> None:
        # here, not at the top: app modules load only once the registry is ready
        from gongzhi.core.frontdoor import provides
        from gongzhi.notices.frontdoor import offer  # (likewise)

        provides(offer)
