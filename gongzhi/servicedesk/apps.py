from django.apps import AppConfig


class ServiceDeskConfig(AppConfig):
    name = "gongzhi.servicedesk"
    label = "servicedesk"

    def ready(self) -> None:
        # here, not at the top: app modules load only once the registry is ready
        from gongzhi.core.frontdoor import provides
        from gongzhi.servicedesk.frontdoor import offer  # (likewise)

        provides(offer)
        # here, not at the top: hooks imports models, which are not loaded yet when apps.py is
        from gongzhi.servicedesk import hooks, privacy

        hooks.connect()
        privacy.register()
