-- stackhand-store, PostgreSQL: API tokens expire. A token issued before this migration has no
-- expiry (NULL), as it was issued; new ones carry one unless asked for none.

-- nanoseconds since the Unix epoch; NULL: never
ALTER TABLE api_tokens ADD COLUMN expires_ns BIGINT;
