-- One transfer per call from a random payer of :wallets into ONE merchant wallet (-D hot=<uuid>): the
-- transfer version of a hot wallet. Amounts 0.01 to 10.00 from 1000.00 each.
\set a random(1, :wallets)
\set cents random(1, 1000)
SELECT * FROM wallet.transfer(md5('bench:' || :a::text)::uuid, :hot::uuid, :cents::int * 0.01, gen_random_uuid()::text);
