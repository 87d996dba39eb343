from django.apps import AppConfig


class RenovationConfig(AppConfig):
    name = "gongzhi.renovation"
    label = "renovation"
