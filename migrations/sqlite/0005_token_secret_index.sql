-- Incident response: find a token by its secret (LookupToken,
-- RevokeTokenBySecret, RFC 7009 revocation). The secret is hashed (SHA-256
-- of 256 random bits) and the hash looked up through this index, scoped by
-- organization; the store never sees the secret itself.
CREATE INDEX tokens_org_secret_hash ON tokens (org_id, secret_hash);
