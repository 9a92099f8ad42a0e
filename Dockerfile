# Nexus: the bot (`nexus run`, the default) or a worker (`nexus worker`), see docker-compose.yml.
# Python 3.11, the version requirements.lock was compiled and the suite is run with.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEXUS_DATA_DIR=/data \
    NEXUS_HTTP_HOST=0.0.0.0

WORKDIR /app
# The pinned dependencies first (a layer that survives code changes), then the project itself.
COPY requirements.lock ./
RUN pip install -r requirements.lock
# The whole build context: .dockerignore leaves out tests, benchmarks, git, venvs, caches and
# data, so a new package can't be forgotten here (tests/test_packaging.py builds the wheel from
# exactly this context and checks every package and the migrations are in it).
COPY . .
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 nexus \
    && mkdir -p /data \
    && chown nexus:nexus /data

USER nexus
VOLUME ["/data"]
# Webhooks, /health and /media. Inside a container the server must listen on 0.0.0.0 (set above;
# 127.0.0.1 would be unreachable from outside); publish it with `-p 8080:8080`.
EXPOSE 8080
# Liveness through /health; slim images have no curl, so Python's urllib asks (non-2xx fails).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('NEXUS_HTTP_PORT', '8080') + '/health', timeout=4)"
CMD ["nexus", "run"]
