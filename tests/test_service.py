"""Health, readiness, request ids and the OpenAPI documentation."""

import httpx


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ready"}


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/health")
    assert len(r.headers["x-request-id"]) == 32


async def test_problem_carries_the_request_id(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/wallets/nope", headers={"X-Request-ID": "trace-me"})
    assert r.json()["request_id"] == "trace-me"


async def test_openapi_documents_every_endpoint_and_its_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    expected = {
        ("/api/v1/wallets", "post"): {"201", "409", "422", "503"},
        ("/api/v1/wallets/{wallet_id}", "get"): {"200", "404", "422", "503"},
        ("/api/v1/wallets/{wallet_id}/operation", "post"): {"200", "400", "404", "422", "503"},
        ("/api/v1/wallets/{wallet_id}/operations", "get"): {"200", "404", "422", "503"},
    }
    for (path, method), statuses in expected.items():
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (path, method, set(responses))
        for status in statuses - {"200", "201"}:
            assert "application/problem+json" in responses[status]["content"], (path, status)
    body = paths["/api/v1/wallets/{wallet_id}/operation"]["post"]["requestBody"]
    assert body["required"] is True
    assert "Problem" in spec["components"]["schemas"]


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    assert "swagger" in r.text.lower()


async def test_problem_type_documents_resolve(client: httpx.AsyncClient) -> None:
    r = await client.get("/problems/insufficient_funds")
    assert r.json() == {
        "code": "insufficient_funds",
        "title": "insufficient funds",
        "status": 400,
        "sqlstate": "WL002",
    }
    for code in ("validation_error", "service_unavailable", "payload_too_large", "request_header_fields_too_large"):
        assert (await client.get(f"/problems/{code}")).status_code == 200, code
    assert (await client.get("/problems/nope")).status_code == 404
