# Parley's production image: `docker build -t parley:0.1.0 .` at the repository root.
#
# Three stages. The builder installs uv and resolves the locked dependencies into /app/.venv
# with the image's own Python 3.11 (uv never downloads one); the web stage builds the web
# client. The runtime stage gets only that venv, the source and the client's build, runs as
# an unprivileged user, and starts `parley serve`.
# deploy/README.md says how the image is run with PostgreSQL and Redis.

# Both Python stages use the same base, so the venv's interpreter links resolve in the
# runtime stage. Patch versions are pinned for reproducible builds; bump them on purpose for
# security fixes.
FROM python:3.11.11-slim-bookworm AS builder

ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON_PREFERENCE=only-system \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# The same uv as the Makefile's, so `uv.lock` is read the way it was written.
RUN pip install uv==0.13.9

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.11

# Then Parley itself, installed into the venv pointing at /app/src.
COPY src ./src
RUN uv sync --frozen --no-dev --python /usr/local/bin/python3.11


# The web client: built from its lock file with the Node the repository is tested with; only
# its output (web/dist) reaches the runtime stage.
FROM node:20.20.2-bookworm-slim AS web

WORKDIR /app/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npm run build


FROM python:3.11.11-slim-bookworm AS runtime

# A fixed numeric id, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
RUN groupadd --system --gid 10001 parley \
    && useradd --system --uid 10001 --gid parley --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin parley

WORKDIR /app

# Code and venv stay owned by root: the process can read them, not change them.
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/src /app/src
# Where `parley serve` looks for the client by default: web/dist beside src/.
COPY --from=web /app/web/dist /app/web/dist

# The only place Parley writes to (a volume or an emptyDir in production).
RUN mkdir /app/data && chown parley:parley /app/data

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PARLEY_DATA_DIR=/app/data \
    PARLEY_LOG_FORMAT=json \
    PARLEY_HOST=0.0.0.0 \
    PARLEY_PORT=8000

USER 10001:10001

EXPOSE 8000

# Readiness: 503 when the database is away or the process is stopping (not over Redis, which
# the process can do without). urllib raises on a refused connection and on any status but
# 2xx, so the exit code says healthy or not without curl in the image. It asks the port the
# server listens on: PARLEY_PORT, which `docker run -e PARLEY_PORT=...` may change.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PARLEY_PORT\"]}/api/health/ready', timeout=3)"]

# Parley drains on SIGTERM: socket events in flight finish (up to 12 s), then it stops
# accepting and closes its sockets, with up to 10 s more for HTTP requests in flight. Give
# it more than that before SIGKILL (compose stop_grace_period, Kubernetes
# terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM

# Exec form: parley is PID 1 and receives the signal itself. `docker run IMAGE migrate` runs
# the migrations instead of the server.
ENTRYPOINT ["/app/.venv/bin/parley"]
CMD ["serve"]
