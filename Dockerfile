# The sidecar image: the web app (gunicorn) and the worker (python -m sidecar worker) share it.

# PouchDB's browser build for the page at /app/ (web/vendor/pouchdb.min.js), from the lock file
FROM node:20-slim AS pouchdb
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error --ignore-scripts

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them: an editable install of an
# empty package pulls them in (editable, because sidecar/design.py finds couch/_design and
# sidecar/webui.py finds web/ next to the package).
COPY pyproject.toml ./
RUN mkdir sidecar && touch sidecar/__init__.py && pip install -e .

COPY sidecar ./sidecar
COPY couch ./couch
COPY web ./web
COPY --from=pouchdb /build/node_modules/pouchdb/dist/pouchdb.min.js ./web/vendor/pouchdb.min.js
COPY scripts/push_design.py scripts/setup_env.py ./scripts/

RUN useradd --system --uid 10001 --no-create-home --home-dir /app sidecar
USER sidecar

EXPOSE 8000 9100

# The web app; the worker container runs `python -m sidecar worker` instead (see compose.example.yml).
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "1", "--threads", "8", "--timeout", "300", \
     "--access-logfile", "-", "sidecar.app:create_app()"]
