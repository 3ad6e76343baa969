from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

_missing = [name for name in ("SECRET_KEY", "CREDENTIAL_KEYS", "ALLOWED_HOSTS") if not env.str(name, default="")]
if _missing:
    raise ImproperlyConfigured(f"Production settings need these environment variables: {', '.join(_missing)}")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
CREDENTIAL_KEYS = env.list("CREDENTIAL_KEYS")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
