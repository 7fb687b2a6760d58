-- :batch operations per call (-D batch=100) on ONE hot wallet (-D hot=<uuid>), each with its own
-- idempotency key; same mix as apply_operation_hot.sql. The arrays are built in one pass over
-- generate_series. apply_operations reports a failing element in its row instead of raising, so the
-- guard column raises that element's error: pgbench then counts the call as failed, never as done.
SELECT count(*) AS applied,
    CASE WHEN bool_or(r.error_code IS NOT NULL) THEN wallet.raise_error(min(r.error_code), min(r.error_detail)) END AS guard
FROM (
    SELECT array_agg(CASE WHEN random() < 0.1 THEN 'WITHDRAW' ELSE 'DEPOSIT' END) AS types,
        array_agg((1 + floor(random() * 1000))::int * 0.01) AS amounts,
        array_agg(gen_random_uuid()::text) AS keys
    FROM generate_series(1, :batch::int)
) AS b
CROSS JOIN LATERAL wallet.apply_operations(:hot::uuid, b.types, b.amounts, b.keys) AS r;
