# Nexus: one container runs the bot (and, from the scheduling release on, the scheduler).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEXUS_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY ai ./ai
COPY bot ./bot
COPY handlers ./handlers
COPY publishers ./publishers
COPY scheduler ./scheduler
COPY storage ./storage
RUN pip install . \
    && useradd --create-home --uid 10001 nexus \
    && mkdir -p /data \
    && chown nexus:nexus /data

USER nexus
VOLUME ["/data"]
CMD ["nexus", "run"]
