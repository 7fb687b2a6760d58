"""What a hostile or careless client found at the HTTP level (issue 10), pinned: stalled clients are cut,
logs cannot be forged, the docs work offline in a real browser, HEAD, CORS, problem+json everywhere,
relative redirects, no server banner, and refusals of server-made keys expire."""

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from api.settings import Settings
from tests.conftest import ENV, ROOT, TEST_DB, Ledger, LiveServer, api_client, free_port


class ServedAPI:
    """`python -m api`, as `make run` serves it, on a free port against the test database."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.log = log

    def output(self) -> str:
        return self.log.read_bytes().decode("utf-8", errors="replace")


@contextmanager
def served_api(tmp_path: Path, **settings: str) -> Iterator[ServedAPI]:
    port = free_port()
    env = {**ENV, **os.environ, "WALLET_DB": TEST_DB, "WALLET_API_PORT": str(port), "WALLET_POOL_LOG_SECONDS": "0"}
    env.update({f"WALLET_{k.upper()}": v for k, v in settings.items()})
    log = tmp_path / f"api-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "api"], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield ServedAPI(f"http://127.0.0.1:{port}", log)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(15)


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (recv gives b""), or None if it stayed open."""
    sock.settimeout(0.2)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
    return None


# --- 2: a request must arrive whole within the request timeout ---


async def test_stalled_clients_are_dropped_and_their_requests_never_run(
    tmp_path: Path,
    new_wallet,  # type: ignore[no-untyped-def]
    ledger: Ledger,
) -> None:
    wallet_id = await new_wallet("10")
    deposit = b'{"operation_type": "DEPOSIT", "amount": "5"}'
    head = (
        f"POST /api/v1/wallets/{wallet_id}/operation HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    ).encode()
    stalls = {
        "nothing at all": b"",
        "half the headers": b"GET /health HTTP/1.1\r\nHost: x\r\n",
        "half the body": head + b"Content-Length: 45\r\n\r\n" + deposit[:20],
        # A body that is already valid JSON, short of its declared length: it must not be applied.
        "a complete-looking body": head + f"Content-Length: {len(deposit) + 10}\r\n\r\n".encode() + deposit,
    }
    with served_api(tmp_path, request_timeout="1") as api:
        sockets = {}
        for name, sent in stalls.items():
            s = socket.create_connection(("127.0.0.1", api.port))
            s.sendall(sent)
            sockets[name] = s
        async with httpx.AsyncClient(base_url=api.url) as client:  # others are served meanwhile
            assert (await client.get(f"/api/v1/wallets/{wallet_id}")).status_code == 200
        for name, s in sockets.items():
            closed = closed_within(s, 6)
            s.close()
            assert closed is not None, f"a client that sent {name} was not dropped"
            assert closed < 4, f"a client that sent {name} was dropped only after {closed:.1f} s"
    assert await ledger.balance(wallet_id) == Decimal("10.00")
    assert len(await ledger.entries(wallet_id)) == 1


def test_slow_but_timely_requests_and_idle_keep_alive_still_work(tmp_path: Path) -> None:
    with served_api(tmp_path, request_timeout="1.5") as api:
        s = socket.create_connection(("127.0.0.1", api.port))
        s.settimeout(5)
        for part in (b"GET /health HT", b"TP/1.1\r\nHost: x\r\n", b"\r\n"):  # dribbled, within the deadline
            s.sendall(part)
            time.sleep(0.3)
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(2.5)  # idle longer than the request timeout, shorter than keep-alive (5 s)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
        s.close()


# --- 6 and 8: logs cannot be forged; no server banner from the real deployment ---

FORGED_PATH = "/x%0A2026-01-01%20INFO%20wallet.access%20GET%20/forged%20200%00"
FORGED_ID = "abc 200 1.0ms request_id=forged"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_untrusted_text_cannot_forge_log_lines(tmp_path: Path, log_format: str) -> None:
    with served_api(tmp_path, log_format=log_format, log_level="INFO") as api:
        r = httpx.get(api.url + FORGED_PATH, headers={"X-Request-ID": FORGED_ID})
        assert r.status_code == 404
        assert "server" not in r.headers
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"]), "an unsafe request id was kept"
        kept = httpx.get(api.url + "/health", headers={"X-Request-ID": "client-id_1.2:3"})
        assert kept.headers["x-request-id"] == "client-id_1.2:3"
        time.sleep(0.3)
        output = api.output()
    assert "\x00" not in output
    access = [line for line in output.splitlines() if "wallet.access" in line]
    assert len(access) == 3, output  # /health at start-up, the forged one, the kept one
    if log_format == "json":
        entries = [json.loads(line) for line in output.splitlines() if line.strip()]
        forged = [e for e in entries if e.get("logger") == "wallet.access" and e.get("status") == 404]
        assert len(forged) == 1 and forged[0]["request_id"] == r.headers["x-request-id"]
        assert forged[0]["path"].startswith("/x%0A")
    else:
        assert not any(line.startswith("2026-01-01") for line in output.splitlines())
        assert sum("forged" in line for line in output.splitlines()) == 1
        assert FORGED_ID not in output


# --- 7: the docs pages work offline, in a real browser ---

CHROMIUM = [
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Offline: every host but loopback fails to resolve, so nothing can come from a CDN.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=15000",
]


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_docs_render_offline_in_a_real_browser(live_server: LiveServer, tmp_path: Path, page: str) -> None:
    html = httpx.get(f"{live_server.url}/{page}").text
    assert not re.search(r"(src|href)=\"https?://", html), "the page loads something from another host"
    profile = tmp_path / "chromium-profile"
    screenshot = ROOT / ".run" / f"{page}.png"
    screenshot.parent.mkdir(exist_ok=True)
    url = f"{live_server.url}/{page}"
    argv = [*CHROMIUM, f"--user-data-dir={profile}"]
    dom = subprocess.run([*argv, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True).stdout
    for path in ("/api/v1/wallets/{wallet_id}/operation", "/api/v1/wallets/{wallet_id}/operations", "/ready"):
        assert path in dom, f"the rendered {page} page does not list {path}"
    # A screenshot of what a person sees, kept in .run/ (for a look, not compared).
    subprocess.run(
        [*argv, "--window-size=1280,1600", f"--screenshot={screenshot}", url], capture_output=True, timeout=120
    )
    assert screenshot.stat().st_size > 10_000


# --- 8: HTTP conformance ---


async def test_head_works_wherever_get_does(live_server: LiveServer, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet("1")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for path in ("/health", "/ready", f"/api/v1/wallets/{wallet_id}", f"/api/v1/wallets/{wallet_id}/operations"):
            get, head = await client.get(path), await client.head(path)
            assert head.status_code == get.status_code == 200, path
            assert head.content == b""
            assert head.headers["content-type"] == get.headers["content-type"]
            assert head.headers["content-length"] == get.headers["content-length"], path
        missing = await client.head(f"/api/v1/wallets/{uuid4()}")
        assert missing.status_code == 404 and missing.content == b""


async def test_cors_is_off_by_default(client: httpx.AsyncClient) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    r = await client.options("/api/v1/wallets", headers=preflight)
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    r = await client.get("/health", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in r.headers


async def test_cors_allows_the_configured_origins(settings: Settings) -> None:
    cors = settings.model_copy(update={"cors_origins": ["https://app.example"]})
    async with api_client(cors) as (client, _):
        preflight = {
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Idempotency-Key, Content-Type",
        }
        r = await client.options("/api/v1/wallets", headers=preflight)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert "idempotency-key" in r.headers["access-control-allow-headers"].lower()
        r = await client.get(f"/api/v1/wallets/{uuid4()}", headers={"Origin": "https://app.example"})
        assert r.status_code == 404
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
        r = await client.options("/api/v1/wallets", headers={**preflight, "Origin": "https://evil.example"})
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "cors_not_allowed"
        assert r.headers["x-request-id"]


async def test_every_error_is_problem_json_with_a_request_id(client: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/problems/zzz"), ("GET", "/static/docs/nothing.js"), ("DELETE", "/health")):
        r = await client.request(method, path)
        assert r.status_code in (404, 405), path
        assert r.headers["content-type"] == "application/problem+json", path
        assert r.headers["x-request-id"] == r.json()["request_id"]
        assert (await client.get(r.json()["type"])).status_code == 200, f"{r.json()['type']} does not resolve"


async def test_the_trailing_slash_redirect_is_relative(client: httpx.AsyncClient) -> None:
    wallet_id = uuid4()
    r = await client.get(f"/api/v1/wallets/{wallet_id}/?x=1", headers={"Host": "evil.example"})
    assert r.status_code == 307
    assert r.headers["location"] == f"/api/v1/wallets/{wallet_id}?x=1"


def test_the_deployment_sends_no_server_banner(tmp_path: Path) -> None:
    with served_api(tmp_path) as api:
        assert "server" not in httpx.get(api.url + "/health").headers


# --- 3: refusals of server-made keys expire and are swept ---


async def test_refusals_without_a_key_expire_and_are_swept(
    settings: Settings,
    new_wallet,  # type: ignore[no-untyped-def]
    admin: asyncpg.Pool,
) -> None:
    wallet_id: UUID = await new_wallet("1")
    client_key = f"client-{uuid4()}"
    with LiveServer(settings.model_copy(update={"housekeeping_seconds": 0.2})) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            url = f"/api/v1/wallets/{wallet_id}/operation"
            withdraw = {"operation_type": "WITHDRAW", "amount": "5"}
            for r in await asyncio.gather(*(client.post(url, json=withdraw) for _ in range(20))):
                assert r.json()["code"] == "insufficient_funds"
            await client.post(url, json=withdraw, headers={"Idempotency-Key": client_key})
        rows = await admin.fetch(
            "SELECT idempotency_key, expires_at - created_at AS ttl FROM wallet.refusals WHERE wallet_id = $1",
            wallet_id,
        )
        assert len(rows) == 21
        assert {r["ttl"] for r in rows if r["idempotency_key"] != client_key} == {timedelta(minutes=10)}
        assert [r["ttl"] for r in rows if r["idempotency_key"] == client_key] == [None]
        await admin.execute(
            "UPDATE wallet.refusals SET expires_at = now() - interval '1 second' "
            "WHERE wallet_id = $1 AND expires_at IS NOT NULL",
            wallet_id,
        )
        deadline = time.monotonic() + 5
        while await admin.fetchval("SELECT count(*) FROM wallet.refusals WHERE wallet_id = $1", wallet_id) > 1:
            assert time.monotonic() < deadline, "the API's housekeeping did not delete the expired refusals"
            await asyncio.sleep(0.1)
    remaining = await admin.fetch("SELECT idempotency_key FROM wallet.refusals WHERE wallet_id = $1", wallet_id)
    assert [r["idempotency_key"] for r in remaining] == [client_key]
