from django.apps import AppConfig


class DeliberationConfig(AppConfig):
    name = "gongzhi.deliberation"
    label = "deliberation"

    def ready(self) -> None:
        from gongzhi.deliberation import privacy  # here: app modules load only once the registry is ready

        privacy.register()
        # Imported here, once the models are loaded (as voting does): a resolution notice decided by an owners'
        # vote carries the vote's result tables, whose words voting gives in English.
        from gongzhi.notices.selectors import register_table_glossary
        from gongzhi.voting.notices import result_glossary  # (likewise)

        register_table_glossary(
            "resolution", lambda notice: result_glossary(notice.matter.vote_id if notice.matter_id else None)
        )
