"""`python -m api`: serve with uvicorn on the host and port from the settings, in
WALLET_API_WORKERS processes (uvicorn's supervisor restarts a worker that dies)."""

import copy
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from api.logs import formatter_config
from api.settings import get_settings


def log_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """uvicorn's logging with our formatter everywhere, plus a root handler on stdout for the app's
    loggers (wallet.access, ...). A dict, because it must travel to worker processes, which do not
    inherit this process's logging setup."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"] = {"wallet": formatter_config(log_format)}
    for handler in config["handlers"].values():
        handler["formatter"] = "wallet"
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
        http="api.server:DeadlineHttpToolsProtocol",  # drops requests that do not arrive in time
        access_log=False,  # the app logs each request itself, with its request id
        log_config=log_config(settings.log_level, settings.log_format),
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
