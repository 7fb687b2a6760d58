-- One transfer per call between a random pair of :wallets wallets (-D wallets=N): both rows locked in id
-- order. Wallet n has the id md5('bench:' || n)::uuid. Amounts 0.01 to 10.00 from 1000.00 each.
\set a random(1, :wallets)
\set b 1 + (:a + random(0, :wallets - 2)) % :wallets
\set cents random(1, 1000)
SELECT * FROM wallet.transfer(md5('bench:' || :a::text)::uuid, md5('bench:' || :b::text)::uuid,
    :cents::int * 0.01, gen_random_uuid()::text);
