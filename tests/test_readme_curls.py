"""Every curl in the README works as written: run each against the test server, in order, and compare
its JSON with the README's, ignoring only what differs per run (timestamps, generated ids). The
sequence is the first one on the test database, which `make test` recreates each run. A generated id
the README uses in a later command (a hold's, a transfer's) is replaced by the one this run got."""

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import LiveServer

README = Path(__file__).resolve().parent.parent / "README.md"
BASE = "http://127.0.0.1:8000"
VOLATILE = {
    "at",
    "created_at",
    "updated_at",
    "expires_at",
    "closed_at",
    "request_id",
    "transfer_id",
    "reverses",
    "hold_id",
}
GENERATED_IDS = {"id", "transfer_id", "reverses", "hold_id"}
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


def generated(shown: Any, got: Any) -> dict[str, str]:
    """The generated ids of the README's answer, each with this run's id in the same place."""
    pairs: dict[str, str] = {}
    if isinstance(shown, dict) and isinstance(got, dict):
        for k, v in shown.items():
            if k in GENERATED_IDS and isinstance(v, str) and isinstance(got.get(k), str):
                pairs[v] = got[k]
            else:
                pairs.update(generated(v, got.get(k)))
    elif isinstance(shown, list) and isinstance(got, list):
        for a, b in zip(shown, got, strict=False):
            pairs.update(generated(a, b))
    return pairs


def test_readme_curls_work_as_written(live_server: LiveServer) -> None:
    blocks = BLOCK.findall(README.read_text())
    assert len(blocks) >= 10, "the README lost its curl examples"
    wallet_ids = set(re.findall(r"/api/v1/wallets/([0-9a-f-]{36})", README.read_text()))
    ids: dict[str, str] = {}  # the README's generated id -> this run's
    for command, shown in blocks:
        argv = [a.replace(BASE, live_server.url) for a in shlex.split(command)]
        for theirs, ours in ids.items():
            argv = [a.replace(theirs, ours) for a in argv]
            shown = shown.replace(theirs, ours)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, (command, done.stderr)
        got = json.loads(done.stdout)
        assert mask(got, wallet_ids) == mask(json.loads(shown), wallet_ids), command
        ids.update({k: v for k, v in generated(json.loads(shown), got).items() if k not in wallet_ids})
