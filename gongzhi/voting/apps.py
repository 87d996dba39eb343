from django.apps import AppConfig


class VotingConfig(AppConfig):
    name = "gongzhi.voting"
    label = "voting"

    def ready(self) -> None:
        # here, not at the top: app modules load only once the registry is ready
        from gongzhi.core.frontdoor import provides
        from gongzhi.voting.frontdoor import offer  # (likewise)

        provides(offer)
        # Imported here, once the models are loaded: the notices app reads a voter-roll notice's rows through
        # the table source voting registers (notices never imports voting).
        from gongzhi.notices.selectors import register_table_source
        from gongzhi.voting.notices import roll_rows

        register_table_source("voter_roll", roll_rows)
        from gongzhi.voting import privacy  # here: as above

        privacy.register()
