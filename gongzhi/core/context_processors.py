from django.conf import settings


def platform(request):
    return {"HOTLINE": settings.GONGZHI_HOTLINE}
