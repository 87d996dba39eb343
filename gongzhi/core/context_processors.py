from django.conf import settings

from gongzhi.core.navigation import sections_for


def platform(request):
    user = getattr(request, "user", None)
    return {"HOTLINE": settings.GONGZHI_HOTLINE, "NAV_SECTIONS": sections_for(user) if user is not None else []}
