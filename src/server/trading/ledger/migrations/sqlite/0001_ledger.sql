-- The ledger's first shape. Applied once, in a transaction, by `server::trading::ledger::sqlite::migrate`;
-- `PRAGMA user_version` records that it was. Never edit an applied migration: add the next one.

-- One row per session: the cookie's id, and the number that starts its portfolio's event ids.
CREATE TABLE sessions (
    id        TEXT    PRIMARY KEY,        -- 32 hex digits: 128 random bits, the cookie's value
    number    INTEGER NOT NULL,           -- the `<account>` in the portfolio's `<account>-<fill>` ids
    seen_ms   INTEGER NOT NULL            -- last use (ms since 1970); idle sessions are swept
);
CREATE INDEX sessions_by_last_use ON sessions (seen_ms);

-- Every fill, never updated. The portfolio is the fold of a session's fills in `seq` order.
CREATE TABLE fills (
    id              INTEGER PRIMARY KEY,  -- every fill of every session, in order: instances poll it
    session         TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,     -- 1, 2, 3 … per session: the `<fill>` in event ids
    idempotency_key TEXT    NOT NULL,     -- the order's `Idempotency-Key`: one fill per key
    symbol          TEXT    NOT NULL,
    side            TEXT    NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    price_cents     INTEGER NOT NULL CHECK (price_cents > 0),
    time_ms         INTEGER NOT NULL,
    UNIQUE (session, seq),
    UNIQUE (session, idempotency_key)
);
