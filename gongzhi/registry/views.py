# Placeholder views replaced by the registry pages work (same names, same URLs).
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def browse(request):
    return HttpResponse("registry")


search = node_detail = unit_detail = browse
