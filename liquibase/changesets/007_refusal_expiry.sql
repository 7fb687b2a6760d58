--liquibase formatted sql

--changeset wallet:007-refusal-expiry
--comment: A refusal recorded for a key the API made up (a request without Idempotency-Key) expires.
-- Such a key protects only the API's own retries of one request, which end within seconds; nobody can
-- ever send it again. Its record gets expires_at, and wallet.expire_refusals() deletes it after that
-- (the API calls it periodically). Client keys keep expires_at NULL: final until a DBA prunes them.
ALTER TABLE wallet.refusals ADD COLUMN expires_at timestamptz;
COMMENT ON COLUMN wallet.refusals.expires_at IS 'NULL for a client''s key (kept until wallet.prune_refusals); for a key the API made for its own retries, when wallet.expire_refusals() may delete it.';
CREATE INDEX refusals_expires_at ON wallet.refusals (expires_at) WHERE expires_at IS NOT NULL;
--rollback DROP INDEX wallet.refusals_expires_at;
--rollback ALTER TABLE wallet.refusals DROP COLUMN expires_at;
