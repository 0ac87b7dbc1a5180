"""Settings for Goals, read from environment variables (see .env.example)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .beat import beat_schedule
from .env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_redis_url,
    env_str,
    env_url_origins,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off")
CSRF_TRUSTED_ORIGINS = env_url_origins("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # the API docs page from static files, not a CDN
    "template_partials",
    "mptt",
    "axes",
    "goals_project",
    "hierarchy",
    "crm",
    "rulesets",
    "goals",
    "achievements",
    "dashboards",
    "lab",
]

MIDDLEWARE = [
    "goals_project.security.SecurityHeadersMiddleware",  # first: every answer carries them
    "goals_project.throttle.ApiThrottleMiddleware",
    "core.limits.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "hierarchy.middleware.TenantMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes): five failures for one email from one address lock that pair
# out for 15 minutes; a success resets the count. The email is keyed trimmed and case-folded,
# so that another spelling of it is the same identity.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "hierarchy.auth.throttle_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# API rate limits a minute (goals_project.throttle), over which the API answers 429 with
# Retry-After: requests per token and per address, and failed authentications per address
# (checked before any token is looked up).
API_RATE_LIMIT_PER_TOKEN = env_int("API_RATE_LIMIT_PER_TOKEN", 3000)
API_RATE_LIMIT_PER_ADDRESS = env_int("API_RATE_LIMIT_PER_ADDRESS", 6000)
API_FAILED_AUTH_LIMIT_PER_ADDRESS = env_int("API_FAILED_AUTH_LIMIT_PER_ADDRESS", 60)

# Request bodies over 5 MB answer 413 (core.limits).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

ROOT_URLCONF = "goals_project.urls"
WSGI_APPLICATION = "goals_project.wsgi.application"
ASGI_APPLICATION = "goals_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hierarchy.context_processors.membership",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    VAR_DIR.mkdir(exist_ok=True)  # the embedded default lives in a file under var/
DATABASES = {
    "default": database_from_url(DATABASE_URL or f"sqlite:///{VAR_DIR / 'goals.sqlite3'}", BASE_DIR)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# PostgreSQL roles of row-level security (goals_project.rls): the one web, workers and beat
# log in as, and the one scopes_disabled() switches to (BYPASSRLS, no login).
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE", "goals_app")
DATABASE_PLATFORM_ROLE = env_str("DATABASE_PLATFORM_ROLE", "goals_platform")

AUTHENTICATION_BACKENDS = [
    "hierarchy.auth.ThrottleBackend",  # first: refuses locked-out logins before any check
    "hierarchy.auth.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "static")  # collectstatic writes here
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedStaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Mail (set-password links, alerts) goes through an SMTP server once EMAIL_HOST names one;
# without it, the console backend prints each message (the demo) and the pages show the
# set-password link on screen instead, saying that no mail went out.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "goals@localhost")

# Production hardening, on whenever DEBUG is off (`manage.py check --deploy` is clean then).
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# On every response (goals_project.security): everything from this site only, scripts from
# files (no inline script, handler or eval), inline style attributes only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope",
        "magnetometer", "microphone", "midi", "payment", "usb",
    )
)  # fmt: skip
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Celery: with REDIS_URL, a Redis broker and result backend and a separate worker; without it
# the embedded mode runs every task in-process (tasks are sent from after-commit hooks, so
# they run right after the transaction that asked for them commits).
REDIS_URL = env_redis_url("REDIS_URL")
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
# A request that enqueues work never waits on Redis for long: connecting, each command and the
# publish's one retry are bounded by BROKER_TIMEOUT seconds, and no result is stored or awaited
# for the tasks that requests send (only check_worker's ping keeps one). A publish that fails
# is logged; the request is recorded on its goal and the sweep sends it later.
BROKER_TIMEOUT = env_float("BROKER_TIMEOUT", 0.5)
_REDIS_TIMEOUTS = {"socket_connect_timeout": BROKER_TIMEOUT, "socket_timeout": BROKER_TIMEOUT}
CELERY_BROKER_TRANSPORT_OPTIONS = dict(_REDIS_TIMEOUTS)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = BROKER_TIMEOUT
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
}
# Workers outlive a broker outage: they retry connecting for ever (at start-up too) and resume
# when it is back; a task cut off by the outage is delivered again (acks late, recomputes are
# idempotent) rather than acknowledged on a dead connection.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = beat_schedule()

# A burst of records recomputes each goal it touches once, this many seconds after the first.
RECOMPUTE_DEBOUNCE_SECONDS = env_int("RECOMPUTE_DEBOUNCE_SECONDS", 2)
# The debounce marks live in the cache: Redis when there is one, shared by every process.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": dict(_REDIS_TIMEOUTS),
        }
    }
# /healthz answers 503 when no worker ran beat's minutely heartbeat within this many seconds,
# or beat sent none (services mode only: the embedded mode has no worker or beat).
HEALTHZ_WORKER_WINDOW = env_int("HEALTHZ_WORKER_WINDOW", 180)
HEALTHZ_BEAT_WINDOW = env_int("HEALTHZ_BEAT_WINDOW", 180)

LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "goals_project.jsonlog.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"}
        | ({"formatter": "json"} if LOG_FORMAT == "json" else {})
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
