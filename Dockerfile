# hawatch service image: `docker compose up` runs `hawatch serve` with its database in the
# `hawatch-data` volume.
#
# Two stages: the build stage has gcc and builds the wheel (with the optional C line scanner;
# without it ingest falls back to SQL extraction); the runtime stage installs only that wheel,
# so no compiler, no tests and no source tree ship in the image, and runs as an unprivileged
# user that owns nothing but /data.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . /src
RUN python3 -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
COPY --from=build /wheels /wheels
RUN python3 -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && groupadd --system --gid 10001 hawatch \
    && useradd --system --uid 10001 --gid hawatch --home-dir /data --shell /usr/sbin/nologin hawatch \
    && mkdir -p /data/drop && chown -R hawatch:hawatch /data && chmod 0700 /data
ENV HAWATCH_DB=/data/hawatch.duckdb \
    HAWATCH_SERVE_HTTP=0.0.0.0:8080 \
    HAWATCH_SERVE_SYSLOG_UDP=0.0.0.0:5514 \
    HAWATCH_SERVE_SYSLOG_TCP=0.0.0.0:5514 \
    HAWATCH_SERVE_DROP_DIR=/data/drop \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER hawatch
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080 5514/udp 5514/tcp
STOPSIGNAL SIGTERM
CMD ["hawatch", "serve"]
