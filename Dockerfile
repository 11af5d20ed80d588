# DeepintShield: a slim image that runs the gateway as a non-root user on $PORT (default 8080).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install --no-compile -r requirements.txt

COPY . .
RUN useradd --system --uid 10001 --home-dir /app gateway \
    && mkdir -p /app/data \
    && chown gateway /app/data
USER 10001

EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ['PORT'], timeout=2)"]
CMD ["gunicorn", "wsgi:app"]
