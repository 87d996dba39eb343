from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The top floor: puts the parts together (the demo district, the city generator). Nothing imports it."""

    name = "gongzhi.site"
    label = "gongzhi_site"
    verbose_name = "Gongzhi site"
