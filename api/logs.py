"""Log formats that untrusted text cannot forge: request paths, headers and ids end up in log records,
so a control character in them must never start a new line or hide what follows.

- text: one line per record; control characters in the message (newline, NUL, escape, ...) are written
  as Python escapes (a path with %0A shows as `\\n`), tracebacks keep their own lines.
- json: one JSON object per line (json.dumps escapes everything), for log shippers."""

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape(text: str) -> str:
    """Control characters (C0, DEL, C1 and the Unicode line separators) as Python escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class EscapingFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape(record.message)
        return super().formatMessage(record)


class JSONFormatter(logging.Formatter):
    """time, level, logger, message, and the record's `fields` (structured extras) when it has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=True, default=str)


def formatter_config(log_format: str) -> dict[str, Any]:
    """A logging.config dictConfig entry for the chosen format."""
    if log_format == "json":
        return {"()": JSONFormatter}
    return {"()": EscapingFormatter, "format": TEXT_FORMAT}
