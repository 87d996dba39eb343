from django.apps import AppConfig


class ServiceDeskConfig(AppConfig):
    name = "gongzhi.servicedesk"
    label = "servicedesk"
