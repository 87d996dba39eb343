"""Settings for the test suite: the same as production but for speed-only and isolation-only changes."""

import os
import tempfile

os.environ.setdefault("GONGZHI_VAR_DIR", tempfile.mkdtemp(prefix="gongzhi-test-"))

from gongzhi.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
GONGZHI_SMS_BACKEND = "gongzhi.core.sms.LocmemBackend"
STORAGES = {  # noqa: F405
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
