from django.apps import AppConfig


class BulkywasteConfig(AppConfig):
    name = "gongzhi.bulkywaste"
    label = "bulkywaste"
