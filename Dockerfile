# alliance-bot: a wheel built in one stage, installed with its platform extras in a slim image
# that runs as a non-root user, listens on 0.0.0.0, keeps its data on a volume and checks its
# own liveness. tests/test_docker_replay.py replays these steps without a container engine
# (it reads the ENV, the extras, the USER and the HEALTHCHECK from this file).

FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY prompts ./prompts
COPY examples ./examples
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
# Slack's events (3000) and the health and metrics endpoints (8080) listen on every interface
# of the container; publish them with -p. Secrets come at run time (-e or --env-file), never here.
# No console: a container has no terminal (its stdin is empty, which would end the bot).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ALLIANCE_BOT_DATA_DIR=/data \
    ALLIANCE_BOT_CONSOLE__ENABLED=false \
    ALLIANCE_BOT_SLACK__HOST=0.0.0.0 \
    ALLIANCE_BOT_SLACK__PORT=3000 \
    ALLIANCE_BOT_HTTP__HOST=0.0.0.0 \
    ALLIANCE_BOT_HTTP__PORT=8080

RUN useradd --create-home --uid 10001 alliance \
    && mkdir -p /data && chown alliance:alliance /data
COPY --from=wheel /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/alliance_bot-*.whl)[slack,matrix]" \
    && rm -rf /wheels

USER alliance
WORKDIR /home/alliance
VOLUME ["/data"]
EXPOSE 3000 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ALLIANCE_BOT_HTTP__PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["alliance-bot"]
CMD ["run"]
