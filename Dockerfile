# alliance-bot on a slim Python base, as a non-root user, with its database on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ALLIANCE_BOT_DATA_DIR=/data

RUN useradd --create-home --uid 10001 alliance \
    && mkdir -p /data && chown alliance:alliance /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY prompts ./prompts
COPY examples ./examples
# Installed the same way the README does, with the platform extras.
RUN pip install --no-cache-dir '.[slack,matrix]'

USER alliance
VOLUME ["/data"]
EXPOSE 3000
ENTRYPOINT ["alliance-bot"]
CMD ["run"]
