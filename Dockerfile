# paperbot's container image: a builder stage installs the project into a virtual environment,
# a slim runtime stage copies only that environment and runs it as an unprivileged user.
#
#   docker build -t paperbot .
#   docker run --env-file .env -p 127.0.0.1:3000:3000 -v paperbot-data:/var/lib/paperbot paperbot
#
# tests/unit/test_deploy_files.py checks that every file copied here exists, that the command
# and the health check use what paperbot has (a subcommand, a route), and that the port is the
# HTTP_PORT default.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/paperbot
WORKDIR /src
# Metadata first, then the code: the package data (taxonomy, templates, samples) lives in bot/.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
RUN /opt/paperbot/bin/pip install .

FROM python:3.11-slim AS runtime
# A system user with a fixed uid, so a volume's files keep one owner across image rebuilds.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/paperbot --create-home paperbot
COPY --from=builder /opt/paperbot /opt/paperbot
ENV PATH=/opt/paperbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PAPERBOT_DATA_DIR=/var/lib/paperbot \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=3000
USER paperbot
WORKDIR /var/lib/paperbot
VOLUME ["/var/lib/paperbot"]
EXPOSE 3000
# Slim images have no curl: the standard library asks /readyz, which answers 200 once the bot
# runs and 503 otherwise (urlopen raises on both a refused connection and a 503). The first
# fetch runs before the server starts, hence the long start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HTTP_PORT', '3000') + '/readyz', timeout=4)"]
# paperbot stops cleanly on SIGTERM within about 10 s (the default stop timeout).
STOPSIGNAL SIGTERM
CMD ["paperbot", "run"]
