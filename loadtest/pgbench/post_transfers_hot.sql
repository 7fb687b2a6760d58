-- :batch transfers per call (-D batch=100) from random payers of :wallets into ONE merchant wallet
-- (-D hot=<uuid>), each with its own key: every wallet of the call locked once in id order, one
-- update, one insert. The guard column raises a refused element's error, so pgbench counts it failed.
SELECT count(*) AS applied,
    CASE WHEN bool_or(r.error_code IS NOT NULL) THEN wallet.raise_error(min(r.error_code), min(r.error_detail)) END AS guard
FROM (
    SELECT array_agg(ROW(md5('bench:' || (1 + floor(random() * :wallets))::int::text)::uuid, :hot::uuid,
        (1 + floor(random() * 1000))::int * 0.01, gen_random_uuid()::text, false, NULL)::wallet.transfer_request) AS requests
    FROM generate_series(1, :batch::int)
) AS b
CROSS JOIN LATERAL wallet.post_transfers(:hot::uuid, b.requests) AS r;
