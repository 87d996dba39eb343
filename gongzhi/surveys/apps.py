from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "gongzhi.surveys"
    label = "surveys"
