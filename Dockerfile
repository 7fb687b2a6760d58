# The API image: the wallet service's Python package and its runtime dependencies at the exact
# versions of constraints.txt (not the [dev] extras), run as an unprivileged user.
# Settings come from the environment (api/settings.py), so changing one needs no rebuild.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from the metadata alone (an empty `api` package stands in for the code), so
# editing api/ does not reinstall them.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir api && touch api/__init__.py \
    && pip install -c constraints.txt . \
    && pip uninstall -y wallet-service \
    && rm -rf api build ./*.egg-info

COPY api ./api
RUN pip install --no-deps -c constraints.txt . && rm -rf build ./*.egg-info

RUN groupadd --system --gid 10001 wallet \
    && useradd --system --uid 10001 --gid wallet --no-create-home --shell /usr/sbin/nologin wallet
# Numeric, so that a runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001

# Listen on every interface inside the container; publish the port on the host's loopback only.
ENV WALLET_API_HOST=0.0.0.0 \
    WALLET_API_PORT=8000
EXPOSE 8000

# Liveness only (/ready also needs the database). slim has no curl: the standard library asks.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('WALLET_API_PORT', '8000') + '/health', timeout=2)"]

CMD ["python", "-m", "api"]
