"""What a hostile or careless client sent (issue 10), pinned: amounts have one written form and every
amount problem is `invalid_amount`; keys are visible ASCII; duplicate JSON members are refused; one
bad element never fails its batch neighbours; a replayed create returns the original result."""

import asyncio
import json
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from api.batcher import Batcher
from api.db import Database
from api.domain import TransferRequest
from api.schemas import AMOUNT_PATTERN
from api.settings import Settings
from tests.conftest import Ledger, LiveServer, raw_http


def op_url(wallet_id: UUID) -> str:
    return f"/api/v1/wallets/{wallet_id}/operation"


def raw_amount(literal: str, operation: str = "DEPOSIT") -> bytes:
    return b'{"operation_type": "%s", "amount": %s}' % (operation.encode(), literal.encode())


# --- 1 and 9: one rule for amounts, strings and numbers alike; every amount problem is invalid_amount ---

ACCEPTED = [
    '"1"',
    '"1.5"',
    '"1.50"',
    '"007.50"',
    '"0.010"',  # trailing zeros are no fraction of a cent
    '"2.0000"',
    "1",
    "1.5",
    "1.50",
    "0.010",
    '"999999999999999999.99"',
    "999999999999999999.99",
]
REFUSED = [
    "0e-16384",  # zero with a huge exponent: once a 500 that failed its batch neighbours
    "-0e-20000",
    "0e-16383",  # once a 33 KB problem
    "1e2",  # once accepted as a number while "1e2" as a string was refused
    '"1e2"',
    '"0.001"',  # a fraction of a cent (the database's rule)
    "1.001",
    '"0.01000"',  # more decimals than any currency has
    "1e40",
    "1e41",  # once validation_error where 1e40 was invalid_amount
    '"' + "1" * 41 + '"',
    "1" * 41,
    '"-0.01"',
    '"+5"',
    '" 1"',
    '"1 "',
    "-1",
    "-0",
    "-0.0",
    '"1,00"',
    '"٣"',  # an Arabic-Indic digit
    "true",
    "null",
    "[]",
    '{"value": 1}',
    '"0"',
    "0",
    '"1000000000000000000"',
]


@pytest.mark.parametrize("literal", ACCEPTED)
async def test_an_amount_in_the_one_form_is_accepted_as_a_string_or_a_number(
    client: httpx.AsyncClient,
    new_wallet,  # type: ignore[no-untyped-def]
    literal: str,
) -> None:
    wallet_id = await new_wallet()
    r = await client.post(op_url(wallet_id), content=raw_amount(literal))
    assert r.status_code == 200, r.text
    assert Decimal(r.json()["amount"]) == Decimal(literal.strip('"'))


@pytest.mark.parametrize("literal", REFUSED, ids=[r[:20] for r in REFUSED])
async def test_every_amount_problem_is_invalid_amount_with_a_short_answer_and_changes_nothing(
    client: httpx.AsyncClient,
    new_wallet,  # type: ignore[no-untyped-def]
    ledger: Ledger,
    literal: str,
) -> None:
    wallet_id = await new_wallet("10")
    for operation in ("DEPOSIT", "WITHDRAW"):
        r = await client.post(op_url(wallet_id), content=raw_amount(literal, operation))
        assert r.status_code == 422, (literal, r.text)
        assert r.json()["code"] == "invalid_amount", r.text
        assert r.json()["errors"][0]["loc"] == ["body", "amount"]
        assert len(r.content) < 2000, f"{len(r.content)} bytes echo the input back"
    r = await client.post("/api/v1/wallets", content=b'{"initial_balance": %s}' % literal.encode())
    if literal not in ('"0"', "0"):  # an opening balance may be zero
        assert r.status_code == 422, (literal, r.text)
        assert r.json()["code"] == "invalid_amount", r.text
    assert await ledger.balance(wallet_id) == Decimal("10.00")
    assert len(await ledger.entries(wallet_id)) == 1


async def test_the_openapi_schema_states_the_amount_rule_the_server_enforces(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["OperationRequest"]
    string, number = schema["properties"]["amount"]["anyOf"]
    assert string["pattern"] == AMOUNT_PATTERN
    assert number["exclusiveMaximum"] == 10**18


@pytest.mark.parametrize("value", ["3_0", "+3", " 1", "1.0", "1e1", "٣", "-1", ""])
async def test_query_integers_are_digits_only(
    client: httpx.AsyncClient,
    new_wallet,  # type: ignore[no-untyped-def]
    value: str,
) -> None:
    wallet_id = await new_wallet("1")
    for name in ("limit", "after"):
        r = await client.get(f"/api/v1/wallets/{wallet_id}/operations", params={name: value})
        assert r.status_code == 422, (name, value, r.text)
        assert r.json()["code"] == "validation_error"
    assert (await client.get(f"/api/v1/wallets/{wallet_id}/operations", params={"limit": "30"})).status_code == 200


async def test_bad_amounts_mixed_into_a_hot_wallet_fail_only_themselves(
    client: httpx.AsyncClient,
    new_wallet,  # type: ignore[no-untyped-def]
    ledger: Ledger,
) -> None:
    wallet_id = await new_wallet()
    good = [client.post(op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": "1"}) for _ in range(200)]
    bad = [client.post(op_url(wallet_id), content=raw_amount("0e-16384")) for _ in range(10)]
    answers = await asyncio.gather(*good, *bad)
    assert [r.status_code for r in answers] == [200] * 200 + [422] * 10
    assert await ledger.balance(wallet_id) == Decimal("200.00")
    assert not await ledger.inconsistencies(wallet_id)


async def test_a_batch_call_that_fails_as_a_whole_gives_each_element_its_own_answer(
    settings: Settings,
    new_wallet,  # type: ignore[no-untyped-def]
    ledger: Ledger,
) -> None:
    """An element the database cannot even take (a NUL in its key fails the whole call) shares a batch
    with good ones: the good ones are applied, the bad one alone gets the error."""
    wallet_id = await new_wallet()
    db = Database(settings)
    await db.open()
    batcher = Batcher(db, max_batch=100, max_queue=1000)
    try:
        keys = [f"good-{uuid4()}" for _ in range(20)]

        def deposit(key: str) -> TransferRequest:
            return TransferRequest(None, wallet_id, Decimal(1), key, False, None)

        calls: list[Any] = [batcher.apply(deposit(k)) for k in keys[:10]]
        calls.append(batcher.apply(deposit("poison\x00key")))
        calls += [batcher.apply(deposit(k)) for k in keys[10:]]
        results = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        await batcher.close()
        await db.close()
    assert isinstance(results[10], Exception)
    good = results[:10] + results[11:]
    assert all(not isinstance(r, BaseException) and r["error_code"] is None for r in good), good
    assert sorted(r["idempotency_key"] for r in good) == sorted(keys)  # type: ignore[index]
    assert await ledger.balance(wallet_id) == Decimal("20.00")


# --- 4: keys are visible ASCII text ---


@pytest.mark.parametrize(
    "key",
    ["été-1".encode(), ("\U0001f600" * 64).encode(), b"a b", b"tab\there", b"x" * 256, b"\xff"],
    ids=["utf8", "emoji", "inner-space", "inner-tab", "256-chars", "latin-1"],
)
async def test_a_key_that_is_not_visible_ascii_is_refused(
    client: httpx.AsyncClient,
    new_wallet,  # type: ignore[no-untyped-def]
    ledger: Ledger,
    key: bytes,
) -> None:
    wallet_id = await new_wallet()
    r = await client.post(
        op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": "1"}, headers={"Idempotency-Key": key}
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_idempotency_key"
    assert r.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    r = await client.post("/api/v1/wallets", json={}, headers={"Idempotency-Key": key})
    assert r.json()["code"] == "invalid_idempotency_key"
    assert await ledger.entries(wallet_id) == []


async def test_whitespace_around_a_key_is_not_part_of_it(
    live_server: LiveServer,
    new_wallet,  # type: ignore[no-untyped-def]
    ledger: Ledger,
) -> None:
    wallet_id = await new_wallet()
    body = b'{"operation_type": "DEPOSIT", "amount": "1"}'
    answers = []
    for key in (b"   spaced  \t", b"spaced", b"\tspaced"):
        status, _, content = await raw_http(
            live_server.url, "POST", op_url(wallet_id), [(b"Idempotency-Key", key)], body
        )
        assert status == 200, content
        answers.append(json.loads(content))
    assert [a["replayed"] for a in answers] == [False, True, True]
    assert len({a["id"] for a in answers}) == 1
    assert [e["idempotency_key"] for e in await ledger.entries(wallet_id)] == ["spaced"]
    status, _, content = await raw_http(
        live_server.url, "POST", op_url(wallet_id), [(b"Idempotency-Key", b"   ")], body
    )
    assert status == 422 and json.loads(content)["code"] == "invalid_idempotency_key"


async def test_two_idempotency_key_headers_are_refused(
    client: httpx.AsyncClient,
    new_wallet,  # type: ignore[no-untyped-def]
    ledger: Ledger,
) -> None:
    wallet_id = await new_wallet()
    headers = [("Idempotency-Key", "one"), ("Idempotency-Key", "two")]
    r = await client.post(op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": "1"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_idempotency_key"
    assert await ledger.entries(wallet_id) == []


# --- 5: duplicate JSON members are not guessed ---


@pytest.mark.parametrize(
    "body",
    [
        b'{"operation_type": "DEPOSIT", "amount": "1", "amount": "2"}',
        b'{"operation_type": "DEPOSIT", "operation_type": "WITHDRAW", "amount": "1"}',
        b'{"operationType": "DEPOSIT", "amount": "1", "wallet_id": null, "wallet_id": null}',
    ],
)
async def test_duplicate_member_names_are_refused(
    client: httpx.AsyncClient,
    new_wallet,  # type: ignore[no-untyped-def]
    ledger: Ledger,
    body: bytes,
) -> None:
    wallet_id = await new_wallet("5")
    r = await client.post(op_url(wallet_id), content=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
    assert "more than once" in r.json()["detail"]
    r = await client.post("/api/v1/wallets", content=b'{"initial_balance": "1", "initial_balance": "2"}')
    assert r.status_code == 422
    assert await ledger.balance(wallet_id) == Decimal("5.00")


# --- 10: a replayed create returns the original result; a reused refused key is worded properly ---


async def test_a_replayed_create_returns_the_original_result(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": f"create-{uuid4()}"}
    created = await client.post("/api/v1/wallets", json={"initial_balance": "100.00"}, headers=headers)
    wallet_id = created.json()["id"]
    for amount in ("1000", "1"):
        r = await client.post(op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": amount})
        assert r.status_code == 200
    replay = await client.post("/api/v1/wallets", json={"initial_balance": "100.00"}, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == created.json()  # balance 100.00, version 1, the original timestamps
    assert (await client.get(f"/api/v1/wallets/{wallet_id}")).json()["balance"] == "1101.00"


async def test_a_key_reused_after_a_refusal_says_it_was_refused(
    client: httpx.AsyncClient,
    new_wallet,  # type: ignore[no-untyped-def]
) -> None:
    wallet_id = await new_wallet("1")
    headers = {"Idempotency-Key": f"refused-{uuid4()}"}
    r = await client.post(op_url(wallet_id), json={"operation_type": "WITHDRAW", "amount": "5"}, headers=headers)
    assert r.json()["code"] == "insufficient_funds"
    r = await client.post(op_url(wallet_id), json={"operation_type": "WITHDRAW", "amount": "6"}, headers=headers)
    assert r.json()["code"] == "idempotency_key_reused"
    assert "(entry )" not in r.json()["detail"]
    assert "(refused: insufficient_funds)" in r.json()["detail"], r.json()["detail"]
