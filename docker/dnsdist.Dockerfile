# syntax=docker/dockerfile:1
#
# dnsdist for the ferret fleet (docker/compose.yaml): Debian's package, the same dnsdist the tests
# run (tests/common/dnsdist.rs), with dig for the health check. Build from the repository root:
#   docker build -f docker/dnsdist.Dockerfile -t ferret-dnsdist .
FROM debian:bookworm-slim
# Debian's package starts no daemon in a container (no init); its own config is replaced below.
RUN apt-get update \
    && apt-get install -y --no-install-recommends dnsdist dnsutils \
    && rm -rf /var/lib/apt/lists/*
COPY docker/dnsdist.conf /etc/dnsdist/dnsdist.conf
RUN dnsdist --check-config -C /etc/dnsdist/dnsdist.conf
EXPOSE 53/udp 53/tcp
# Through dnsdist to a ferret, which answers localhost. itself: healthy means dnsdist runs and at
# least one node is up.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD dig @127.0.0.1 localhost A +short +time=2 +tries=1 | grep -qx '127.0.0.1' || exit 1
# Foreground, no console on stdin, logs to stdout (docker logs). Debian's dnsdist drops to the
# _dnsdist user after binding port 53.
ENTRYPOINT ["dnsdist", "-C", "/etc/dnsdist/dnsdist.conf", "--supervised", "--disable-syslog", \
            "-u", "_dnsdist", "-g", "_dnsdist"]
