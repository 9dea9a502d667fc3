# syntax=docker/dockerfile:1
# Fieldhook production image: one image for web (gunicorn), worker and beat (celery).
# See docker-compose.yml for how the services are wired together.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=app.settings

WORKDIR /app

# Unprivileged runtime user; the code stays root-owned (read-only to the app).
RUN groupadd --system --gid 10001 fieldhook \
    && useradd --system --uid 10001 --gid fieldhook --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin fieldhook

# Dependencies first, so that code changes don't invalidate this layer.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# settings.py creates var/ at import and collectstatic writes var/static: the only writable path.
RUN mkdir -p var && chown fieldhook:fieldhook var

USER fieldhook

# Settings refuse to load with DEBUG off without real keys: collectstatic gets throwaway random ones.
# Nothing is persisted from them; the real keys come from the environment at run time.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    FIELD_ENCRYPTION_KEYS="$(python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" \
    DEBUG=0 python manage.py collectstatic --noinput

EXPOSE 8000

CMD ["gunicorn", "app.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
