# Placeholder replaced by the coverage page work.
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def coverage(request):
    return HttpResponse("coverage")
