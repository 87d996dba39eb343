"""Gongzhi settings — everything that differs between deployments comes from the environment.

DATABASE_URL          sqlite:///var/gongzhi.sqlite3 (default) or postgres://user@host:5432/name
GONGZHI_VAR_DIR       where the embedded database, generated secrets, private uploads and the SMS outbox live
GONGZHI_SECRET_KEY    Django's web secret (sessions, CSRF); generated once into var/secrets.json if unset
GONGZHI_DATA_KEY      AES-256-GCM key (base64) that encrypts ID numbers at rest; separate from the web secret
GONGZHI_LOOKUP_KEY    HMAC key (base64) for keyed look-up hashes of ID numbers and the audit chain
GONGZHI_DEBUG         1 for development
GONGZHI_ALLOWED_HOSTS comma-separated host names
GONGZHI_SITE_URL      the public address, e.g. https://gongzhi.example.org — links sent by SMS are absolute with it
GONGZHI_PROXY_HTTPS   1 behind a reverse proxy that terminates TLS and sets X-Forwarded-Proto (deploy/nginx)
GONGZHI_PG_PREPARE    1 (default): PostgreSQL prepares repeated statements; 0 behind a pooler without them
GONGZHI_SMS_BACKEND   gongzhi.core.sms.FileBackend (default), ConsoleBackend, LocmemBackend, or your gateway
REDIS_URL             redis://127.0.0.1:6379/0 — when set, the cache and the task queue use Redis
GONGZHI_TASKS         "db" (default: the database-backed worker) or "rq" (Redis worker pool; needs REDIS_URL)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url

from gongzhi.core.secrets import load_or_create_secrets

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GONGZHI_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

_secrets = load_or_create_secrets(VAR_DIR / "secrets.json")
SECRET_KEY = os.environ.get("GONGZHI_SECRET_KEY") or _secrets["secret_key"]
GONGZHI_DATA_KEY = os.environ.get("GONGZHI_DATA_KEY") or _secrets["data_key"]
GONGZHI_LOOKUP_KEY = os.environ.get("GONGZHI_LOOKUP_KEY") or _secrets["lookup_key"]

DEBUG = os.environ.get("GONGZHI_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("GONGZHI_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [f"http://{h}:8000" for h in ALLOWED_HOSTS]
# The public address, for links that leave the site (the rating link in an SMS). Without it they are relative.
GONGZHI_SITE_URL = os.environ.get("GONGZHI_SITE_URL", "").rstrip("/")
if GONGZHI_SITE_URL and not GONGZHI_SITE_URL.startswith(("https://", "http://")):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "GONGZHI_SITE_URL must start with https:// (or http://), e.g. https://gongzhi.example.org"
    )
if GONGZHI_SITE_URL:  # behind a TLS-terminating proxy the browser's Origin is the public https:// address
    CSRF_TRUSTED_ORIGINS.append(GONGZHI_SITE_URL)
# Behind a reverse proxy that sets X-Forwarded-Proto (deploy/nginx): requests that came in over HTTPS are secure.
if os.environ.get("GONGZHI_PROXY_HTTPS", "") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "rules.apps.AutodiscoverRulesConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "gongzhi.core",
    "gongzhi.registry",
    "gongzhi.organizations",
    "gongzhi.deliberation",
    "gongzhi.voting",
    "gongzhi.notices",
    "gongzhi.bulkywaste",
    "gongzhi.renovation",
    "gongzhi.surveys",
    "gongzhi.servicedesk",
    "gongzhi.site",  # the top floor: the demo district and the city generator (load_demo, generate_city)
]

# Django's database sessions, the read on every request with its SQL built once (gongzhi.core.sessions).
SESSION_ENGINE = "gongzhi.core.sessions"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "gongzhi.core.middleware.SecurityHeadersMiddleware",
    "gongzhi.core.middleware.RequestIdMiddleware",
    "gongzhi.core.middleware.IdleSessionMiddleware",  # Django's, renewing an unchanged session once a minute
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "gongzhi.core.middleware.HostileInputMiddleware",
    "gongzhi.core.middleware.AnonymousWriteLimitMiddleware",
    "gongzhi.core.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "gongzhi.core.once.OnceMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gongzhi.urls"
WSGI_APPLICATION = "gongzhi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "gongzhi" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "gongzhi.core.context_processors.platform",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'gongzhi.sqlite3'}"),
        conn_max_age=int(os.environ.get("GONGZHI_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no row locks: WAL lets readers run beside one writer, IMMEDIATE transactions take the
    # write lock at BEGIN (so two writers queue instead of deadlocking), and the busy timeout makes them wait.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["TEST"] = (
        {"NAME": os.environ.get("GONGZHI_TEST_SQLITE", "")} if os.environ.get("GONGZHI_TEST_SQLITE") else {}
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side parameters let psycopg prepare a statement the fifth time a connection runs it, so the
    # planner's work (0.2–1.5 ms for a page's joins, more than running them) is done once per connection, not
    # once per request. Behind a transaction-pooling PgBouncer older than 1.21 (no prepared statements) set
    # GONGZHI_PG_PREPARE=0.
    if os.environ.get("GONGZHI_PG_PREPARE", "1") == "1":
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
    # No JIT compilation: the platform's queries are short, and compiling them cost more than running them (the
    # district-wide coverage totals: ~480 ms of JIT for a 60 ms query at 200k units).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # A kept connection the server dropped (a restart, a failover, pg_terminate_backend) is noticed and replaced
    # before it is used: no request answers 500 and the task worker does not exit for it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and background work ------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if os.environ.get("GONGZHI_TASKS", "db") == "rq" and REDIS_URL:
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Sign-in (等保 level 2) ------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "gongzhi.core.auth_backends.LockoutModelBackend",
    "gongzhi.core.auth_backends.SmsCodeBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "gongzhi.core.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
GONGZHI_LOCKOUT_ATTEMPTS = int(os.environ.get("GONGZHI_LOCKOUT_ATTEMPTS", "5"))
GONGZHI_LOCKOUT_MINUTES = int(os.environ.get("GONGZHI_LOCKOUT_MINUTES", "15"))
# Limits counted in the database (core.limits), so they hold across web workers and machines.
# Load balancers / proxies in front that append the client's address to X-Forwarded-For (0: none; REMOTE_ADDR).
GONGZHI_PROXY_HOPS = int(os.environ.get("GONGZHI_PROXY_HOPS", "0"))
GONGZHI_SIGNIN_PER_ADDRESS = int(os.environ.get("GONGZHI_SIGNIN_PER_ADDRESS", "100"))  # per lockout window
GONGZHI_TOKEN_REQUESTS_PER_MINUTE = int(os.environ.get("GONGZHI_TOKEN_REQUESTS_PER_MINUTE", "20"))  # per address
GONGZHI_ANONYMOUS_WRITES_PER_HOUR = int(os.environ.get("GONGZHI_ANONYMOUS_WRITES_PER_HOUR", "300"))  # per address
GONGZHI_SMS_PER_NUMBER_DAY = int(os.environ.get("GONGZHI_SMS_PER_NUMBER_DAY", "10"))
GONGZHI_SMS_PER_ADDRESS_HOUR = int(os.environ.get("GONGZHI_SMS_PER_ADDRESS_HOUR", "20"))
GONGZHI_SMS_PER_DAY = int(os.environ.get("GONGZHI_SMS_PER_DAY", "5000"))  # all numbers together
# API tokens expire this many hours after they were issued (a new sign-in at /api/v1/token/ issues a new one).
GONGZHI_API_TOKEN_HOURS = int(os.environ.get("GONGZHI_API_TOKEN_HOURS", "12"))
# Idle timeout: requests renew the session (at most once a minute, core.middleware.IdleSessionMiddleware); 30
# minutes of inactivity sign the user out.
SESSION_COOKIE_AGE = int(os.environ.get("GONGZHI_SESSION_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = os.environ.get("GONGZHI_SECURE_COOKIES", "") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
OTP_TOTP_ISSUER = "Gongzhi 共治"

# --- Messages ---------------------------------------------------------------------------------------
GONGZHI_SMS_BACKEND = os.environ.get("GONGZHI_SMS_BACKEND", "gongzhi.core.sms.FileBackend")
GONGZHI_SMS_OUTBOX = VAR_DIR / "sms-outbox.jsonl"
GONGZHI_SMS_CODE_MINUTES = 5
# A message the gateway refused is tried again after 30 s, 2 min, 8 min … (at most 30 min), then given up.
GONGZHI_SMS_MAX_ATTEMPTS = int(os.environ.get("GONGZHI_SMS_MAX_ATTEMPTS", "5"))
GONGZHI_SMS_RETRY_SECONDS = int(os.environ.get("GONGZHI_SMS_RETRY_SECONDS", "30"))

# --- Audit log checkpoints: the chain heads, signed, appended here (keep it where database admins cannot write) ---
GONGZHI_AUDIT_CHECKPOINT_FILE = Path(
    os.environ.get("GONGZHI_AUDIT_CHECKPOINT_FILE", VAR_DIR / "audit-checkpoints.jsonl")
)

# --- Retention of personal data: days per record kind overriding core.privacy.PERIODS (JSON, e.g.
# GONGZHI_RETENTION_DAYS='{"bulkywaste.booking_contact": 90}'); see docs/PRIVACY.md ---
GONGZHI_RETENTION_DAYS = json.loads(os.environ.get("GONGZHI_RETENTION_DAYS", "") or "{}")

# --- Uploads: private by default, outside the static tree ------------------------------------------------
MEDIA_ROOT = Path(os.environ.get("GONGZHI_MEDIA_ROOT", VAR_DIR / "private"))
GONGZHI_UPLOAD_MAX_BYTES = int(os.environ.get("GONGZHI_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))
# Images are refused from their header before decoding when they declare more pixels than this (a phone photo
# has 12–50 million; a scan at 300 dpi of an A3 page about 17 million).
GONGZHI_IMAGE_MAX_PIXELS = int(os.environ.get("GONGZHI_IMAGE_MAX_PIXELS", str(60_000_000)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# --- Languages and time --------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "gongzhi" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- API -----------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "gongzhi.core.api_auth.ExpiringTokenAuthentication",
        "gongzhi.core.api_auth.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "gongzhi.core.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "gongzhi.core.api.KeyCursorPagination",
    "DEFAULT_METADATA_CLASS": "gongzhi.core.api_metadata.PlainMetadata",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gongzhi 共治 API",
    "DESCRIPTION": "Versioned JSON API of the Gongzhi community co-governance platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "gongzhi.core.api_schema.truthful"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GONGZHI_LOG_LEVEL", "WARNING")},
}

# Roles that see unmasked personal data must use a second factor; the demo can relax this for a walk-through.
GONGZHI_REQUIRE_SECOND_FACTOR = os.environ.get("GONGZHI_REQUIRE_SECOND_FACTOR", "1") == "1"
GONGZHI_HOTLINE = "0371-68989517"
# Bulky-waste rounds: road distances from an OSRM /table service when set (e.g. http://osrm:5000);
# otherwise straight-line distance times a road factor.
GONGZHI_OSRM_URL = os.environ.get("GONGZHI_OSRM_URL", "")
# Maps (gongzhi/core/maps.py): a tile URL template served by the district or a local path; empty =
# a server-drawn vector map only. Chinese tiles (AMap style) are GCJ-02; 天地图/OSM-style tiles are WGS-84.
GONGZHI_MAP_TILES = os.environ.get("GONGZHI_MAP_TILES", "")
GONGZHI_MAP_TILES_DATUM = os.environ.get("GONGZHI_MAP_TILES_DATUM", "gcj02")
GONGZHI_MAP_ATTRIBUTION = os.environ.get("GONGZHI_MAP_ATTRIBUTION", "")
# Bulky-waste plausibility limits (one piece) and the resident's messages (gongzhi/bulkywaste/limits.py, messages.py).
GONGZHI_BULKY_MAX_ITEM_KG = int(os.environ.get("GONGZHI_BULKY_MAX_ITEM_KG", "300"))
GONGZHI_BULKY_MAX_ITEM_M3 = int(os.environ.get("GONGZHI_BULKY_MAX_ITEM_M3", "6"))
GONGZHI_BULKY_MAX_ITEM_LENGTH_M = int(os.environ.get("GONGZHI_BULKY_MAX_ITEM_LENGTH_M", "6"))
GONGZHI_BULKY_MAX_QUANTITY = int(os.environ.get("GONGZHI_BULKY_MAX_QUANTITY", "50"))
GONGZHI_BULKY_ETA_MARGIN_MINUTES = int(os.environ.get("GONGZHI_BULKY_ETA_MARGIN_MINUTES", "30"))
# Planning weighs using a truck at all as this many km of driving, so a day is done with fewer trucks unless
# that costs more driving (a crew's day at 40 元/h against 3.50 元/km is worth ~230 km; 0 plans by distance only).
GONGZHI_BULKY_TRUCK_COST_KM = int(os.environ.get("GONGZHI_BULKY_TRUCK_COST_KM", "100"))
