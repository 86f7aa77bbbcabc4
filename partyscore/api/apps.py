from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "partyscore.api"
    label = "api"
    verbose_name = "REST API"
