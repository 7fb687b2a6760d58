"""`python -m api`: serve with uvicorn on the host and port from the settings, in
WALLET_API_WORKERS processes (uvicorn's supervisor restarts a worker that dies)."""

import copy
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from api.main import LOG_FORMAT
from api.settings import get_settings


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging plus a root handler on stdout for the app's loggers (wallet.access, ...). A dict,
    because it must travel to worker processes, which do not inherit this process's logging setup."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["wallet"] = {"format": LOG_FORMAT}
    config["handlers"]["wallet"] = {
        "class": "logging.StreamHandler",
        "formatter": "wallet",
        "stream": "ext://sys.stdout",
    }
    config["root"] = {"level": level.upper(), "handlers": ["wallet"]}
    return config


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        workers=settings.api_workers,
        access_log=False,  # the app logs each request itself, with its request id
        log_config=log_config(settings.log_level),
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
