# One image for both processes: web (the default CMD) and worker (`python manage.py worker`).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=runbooks_site.settings.prod \
    RUNBOOKS_VAR_DIR=/app/var
RUN groupadd --system --gid 10001 runbooks \
    && useradd --system --uid 10001 --gid runbooks --home-dir /app --shell /usr/sbin/nologin runbooks
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . /app
# Production settings refuse to start without these; the throwaway values exist for this step only
# and are not kept in the image's environment.
RUN SECRET_KEY=collectstatic-only \
    CREDENTIAL_KEYS=Y29sbGVjdHN0YXRpYy1vbmx5LWR1bW15LWtleS0wMDA= \
    ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown runbooks:runbooks /app/var
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
# /healthz is 503 when the database or Redis is down, or no live worker reports a reachable Docker
# engine (the worker's own check is `manage.py worker_health`). The request goes to 127.0.0.1, so
# ALLOWED_HOSTS must include it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "runbooks_site.asgi:application"]
