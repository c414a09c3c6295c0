-- One fetcher per source instance at a time (store/fetch_claims.rs).
CREATE TABLE fetch_claims (
    instance   text PRIMARY KEY REFERENCES instances(name) ON DELETE CASCADE,
    owner      text NOT NULL,
    expires_at text NOT NULL
);
