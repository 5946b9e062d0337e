# hawatch service image: `docker compose up` runs `hawatch serve` with its database in the
# `hawatch-data` volume. gcc builds the optional C line scanner (without it ingest falls back
# to SQL extraction).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN python3 -m pip install --no-cache-dir -e .
ENV HAWATCH_DB=/data/hawatch.duckdb \
    HAWATCH_SERVE_HTTP=0.0.0.0:8080 \
    HAWATCH_SERVE_SYSLOG_UDP=0.0.0.0:5514 \
    HAWATCH_SERVE_SYSLOG_TCP=0.0.0.0:5514 \
    HAWATCH_SERVE_DROP_DIR=/data/drop
VOLUME ["/data"]
EXPOSE 8080 5514/udp 5514/tcp
STOPSIGNAL SIGTERM
CMD ["hawatch", "serve"]
