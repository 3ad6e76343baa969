import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import channel_layer_host, env

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789"
# Two fixed test keys: the first encrypts, both decrypt (rotation tests swap them).
CREDENTIAL_KEYS = env.list(
    "CREDENTIAL_KEYS",
    default=["J9NEzXw0R7cO1bI1sWc0wCJ9c8N2k2CzF0lq3JH5m0Q=", "5e9cQzH5pB0s9mCkXJ3E6s4J6iYtO8mG0sUq8vQx1aM="],
)
# Hashing passwords at full cost makes every test that builds the cast slow; security of test
# accounts is irrelevant.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/15")
# Off unless a test (or a benchmark) turns it on: spares would double the suite's containers.
RUNBOOKS_WARM_CONTAINERS = env.int("RUNBOOKS_WARM_CONTAINERS", default=0)
# Parallel pytest workers share one Redis and number executions alike: each gets its own queues
# ("executions-gw0"), Redis keys and channel-layer prefix, so one worker emptying its queue or
# counting its jobs never meets the other's, and its "execution-1" group never gets their messages.
# Subprocesses a test starts (a real worker) inherit PYTEST_XDIST_WORKER and so the same names.
TEST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
RUNBOOKS_QUEUES = {role: f"{role}-{TEST_WORKER}" for role in ("default", "executions")}
RUNBOOKS_REDIS_PREFIX = f"runbooks-{TEST_WORKER}"
RUNBOOKS_WORKER_HEARTBEAT_PREFIX = env.str(
    "RUNBOOKS_WORKER_HEARTBEAT_PREFIX", default=f"{RUNBOOKS_REDIS_PREFIX}:worker-heartbeat:"
)
RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in RUNBOOKS_QUEUES.values()}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [channel_layer_host(REDIS_URL)],
            "prefix": f"asgi-{TEST_WORKER}",
        },
    }
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file with WAL and the busy timeout of base.py, not Django's in-memory test database: that
    # one is a shared cache, where a write meeting a read of another thread (the engine and a
    # consumer in the streaming tests) fails at once with "database table is locked" instead of
    # waiting. One file per process (pytest-django adds the xdist worker's suffix too).
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"runbooks-test-{os.getpid()}.sqlite3")
    }
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
