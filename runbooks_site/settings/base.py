"""Settings shared by every environment; overlays in dev.py, prod.py and test.py.

Everything configurable comes from the environment (django-environ), with a `.env` file read in
development. See DESIGN.md "Processes and configuration".
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

from apps.core.redis_url import channel_layer_host

from ._generated import private_dir, private_file

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("RUNBOOKS_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "django_htmx",
    "guardian",
    "simple_history",
    "taggit",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "channels",
    "apps.core",
    "apps.accounts",
    "apps.sandbox",
    "apps.runbooks",
    "apps.blocks",
    "apps.credentials",
    "apps.environments",
    "apps.executions",
    "apps.audit",
    "apps.automation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "runbooks_site.csp.SiteCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: it turns a sign-in refused for lockout into our 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "runbooks_site.urls"
ASGI_APPLICATION = "runbooks_site.asgi.application"
WSGI_APPLICATION = "runbooks_site.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        # Owner-only from the first byte: the file holds password hashes, sessions and encrypted
        # credentials. SQLite gives the -wal and -shm files the database file's own mode.
        if Path(DATABASES["default"]["NAME"]).parent == VAR_DIR:
            private_dir(VAR_DIR)
        private_file(Path(DATABASES["default"]["NAME"]))
    # WAL and a busy timeout let daphne and the worker share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username or address is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Brute-force protection (django-axes) on every password sign-in: /accounts/login/ and /admin/login/.
# Either key locks: N failures for one username (from any address) or from one address (for any
# usernames) refuse further sign-ins for the cool-off, which each refused attempt restarts. Staff
# unlock by deleting the "Access attempts" rows in the admin, or `manage.py axes_reset_username`.
# Attempts are not reset by a success: one's own good sign-in would otherwise clear an address's count.
# No "AXES: BEGIN" banner on every management command and process start.
AXES_VERBOSE = False
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "apps.accounts.views.lockout"
# The address is REMOTE_ADDR (axes' fallback, django-ipware is not installed): X-Forwarded-For is
# client-controlled unless a trusted proxy rewrites it, and trusting it would let anyone pick an address.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]
# Content-Security-Policy on every response (django-csp; runbooks_site.csp adds this host's ws(s):
# origin to connect-src). No inline script, style or handler anywhere: templates load static/js and
# static/css, htmx runs without eval or its own <style> (base.html's htmx-config), Swagger UI's init
# script is served as a file (SpectacularSwaggerSplitView). A script injected into a page cannot run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"

# Guardian: anonymous users never hold object permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6380/0")
# The RQ queue of each role (apps.executions.queue); the test settings name them per xdist worker.
RUNBOOKS_QUEUES = {"default": "default", "executions": "executions"}
# The prefix of the project's own Redis keys (a webhook's rate window …), per xdist worker in tests.
RUNBOOKS_REDIS_PREFIX = "runbooks"
RQ_QUEUES = {
    RUNBOOKS_QUEUES["default"]: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600},
    RUNBOOKS_QUEUES["executions"]: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 86400},
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # Read timeouts above channels-redis's 5 s blocking receive: see apps/core/redis_url.py.
        "CONFIG": {"hosts": [channel_layer_host(REDIS_URL)]},
    }
}

# Credentials (the encrypted store): the first key encrypts, every key decrypts.
CREDENTIAL_KEYS: list[str] = env.list("CREDENTIAL_KEYS", default=[])
DOCKER_HOST = env.str("DOCKER_HOST", default="")
RUNBOOKS_HTTP_ALLOWLIST = env.list("RUNBOOKS_HTTP_ALLOWLIST", default=[])
# What an API call step keeps of a response body; the rest is never read off the network.
RUNBOOKS_API_RESPONSE_CAP_BYTES = 1024 * 1024

# Limits on what authors may save (issue: bad input gets a clear error, never a half-save).
RUNBOOKS_MAX_DESCRIPTION_BYTES = 256 * 1024
RUNBOOKS_MAX_SCRIPT_BYTES = 64 * 1024
RUNBOOKS_MAX_BLOCKS = 200
RUNBOOKS_PAGE_SIZE = 25
# Output stored per step; past it a step's output is counted, not stored, and marked truncated.
RUNBOOKS_OUTPUT_CAP_BYTES = env.int("RUNBOOKS_OUTPUT_CAP_BYTES", default=2 * 1024 * 1024)
# Started step containers kept waiting per environment shape, so a step skips Docker's container
# start (apps.sandbox.warm). 0 turns the pool off. A shape unused for IDLE seconds loses its
# spares; a spare is replaced after MAX_AGE seconds (and any reaper removes an orphan's then).
RUNBOOKS_WARM_CONTAINERS = env.int("RUNBOOKS_WARM_CONTAINERS", default=1)
RUNBOOKS_WARM_IDLE_SECONDS = env.int("RUNBOOKS_WARM_IDLE_SECONDS", default=900)
RUNBOOKS_WARM_MAX_AGE_SECONDS = env.int("RUNBOOKS_WARM_MAX_AGE_SECONDS", default=3600)
# Where each worker process writes its heartbeat with its Docker status, read by /healthz
# (apps.core.heartbeats); a key per worker process under this prefix.
RUNBOOKS_WORKER_HEARTBEAT_PREFIX = env.str("RUNBOOKS_WORKER_HEARTBEAT_PREFIX", default="runbooks:worker-heartbeat:")
# Jobs run in the worker's process, not a fork per job (apps.executions.workers).
RQ = {"WORKER_CLASS": "apps.executions.workers.InProcessWorker"}
# Executions one `manage.py worker` runs at once (one worker process each; `--concurrency` wins),
# and how many runs of one runbook run together: the rest wait queued, visibly (apps.executions.slots).
RUNBOOKS_WORKER_CONCURRENCY = env.int("RUNBOOKS_WORKER_CONCURRENCY", default=4)
RUNBOOKS_MAX_RUNNING_PER_RUNBOOK = env.int("RUNBOOKS_MAX_RUNNING_PER_RUNBOOK", default=2)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Every API reads JSON through our size-limited parser: 413 past 16 MiB, never Django's HTML 400.
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Runbooks API",
    "DESCRIPTION": "Actionable runbooks: authoring, versions, executions and credentials.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Notifications (apps.automation.notifications). Their links must be absolute: the address people
# reach this site at. Mail goes through EMAIL_URL (django-environ: smtp://user:password@host:587 with
# `+tls`, smtps://…, consolemail://); DEFAULT_FROM_EMAIL is the sender.
RUNBOOKS_BASE_URL = env.str("RUNBOOKS_BASE_URL", default="http://localhost:8000")
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="runbooks@localhost")
