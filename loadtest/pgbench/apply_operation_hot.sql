-- One operation per call on ONE hot wallet (-D hot=<uuid>): 9 in 10 are small deposits, 1 in 10 a
-- small withdrawal (0.01 to 10.00), each with a fresh idempotency key, as a real client sends them.
-- The wallet is funded generously at setup, so no withdrawal is refused.
\set kind random(1, 10)
\set cents random(1, 1000)
SELECT * FROM wallet.apply_operation(:hot::uuid, CASE WHEN :kind::int = 1 THEN 'WITHDRAW' ELSE 'DEPOSIT' END,
    :cents::int * 0.01, gen_random_uuid()::text);
