from ._generated import credential_keys, secret_key
from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="") or secret_key(VAR_DIR)
CREDENTIAL_KEYS = env.list("CREDENTIAL_KEYS", default=[]) or credential_keys(VAR_DIR)
# Mail a developer can read without a mail server: printed by the worker that sends it.
if "EMAIL_URL" not in env.ENVIRON:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
