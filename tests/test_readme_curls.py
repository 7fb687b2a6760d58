"""Every curl in the README works as written: run each against the test server, in order, and compare
its JSON with the README's, ignoring only what differs per run (timestamps, generated ids). The
sequence is the first one on the test database, which `make test` recreates each run."""

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import LiveServer

README = Path(__file__).resolve().parent.parent / "README.md"
BASE = "http://127.0.0.1:8000"
VOLATILE = {"created_at", "updated_at", "request_id", "transfer_id"}
BLOCK = re.compile(r"```console\n\$ (curl [^\n]+)\n(.*?)```", re.S)


def mask(value: Any, wallet_ids: set[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: "<volatile>" if k in VOLATILE or (k == "id" and v not in wallet_ids) else mask(v, wallet_ids)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask(v, wallet_ids) for v in value]
    return value


def test_readme_curls_work_as_written(live_server: LiveServer) -> None:
    blocks = BLOCK.findall(README.read_text())
    assert len(blocks) >= 10, "the README lost its curl examples"
    wallet_ids = set(re.findall(r"/api/v1/wallets/([0-9a-f-]{36})", README.read_text()))
    for command, shown in blocks:
        argv = [a.replace(BASE, live_server.url) for a in shlex.split(command)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, (command, done.stderr)
        got = json.loads(done.stdout)
        assert mask(got, wallet_ids) == mask(json.loads(shown), wallet_ids), command
