-- One operation per call on a random wallet out of :wallets (-D wallets=N). Wallet n has the id
-- md5('bench:' || n)::uuid (made so at setup), so the script computes it instead of reading a list.
-- Same mix as apply_operation_hot.sql; every wallet starts with 1000.00, withdrawals are <= 10.00.
\set n random(1, :wallets)
\set kind random(1, 10)
\set cents random(1, 1000)
SELECT * FROM wallet.apply_operation(md5('bench:' || :n::text)::uuid,
    CASE WHEN :kind::int = 1 THEN 'WITHDRAW' ELSE 'DEPOSIT' END, :cents::int * 0.01, gen_random_uuid()::text);
