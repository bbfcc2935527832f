-- The ledger's first shape in Postgres. Applied once, in a transaction under an advisory lock, by
-- `server::trading::ledger::postgres::migrate`; `ledger_migrations` records that it was. Never edit an
-- applied migration: add the next one. (The SQLite schema beside it has the same rows.)

-- One row per session that has ordered: the cookie's id, and the number that starts its
-- portfolio's event ids. An order locks its session's row (`FOR UPDATE`): orders on one
-- account run one after the other.
CREATE TABLE sessions (
    id        text   PRIMARY KEY,          -- 32 hex digits: 128 random bits, the cookie's value
    number    bigint NOT NULL,             -- the `<account>` in the portfolio's `<account>-<fill>` ids
    seen_ms   bigint NOT NULL              -- last use (ms since 1970); idle sessions are swept
);
CREATE INDEX sessions_by_last_use ON sessions (seen_ms);

-- Every fill, never updated. The portfolio is the fold of a session's fills in `seq` order.
-- No ledger-wide id: sequence values commit out of order, so "fills after id N" could skip one.
-- Readers go by (session, seq), numbered under the session's lock.
CREATE TABLE fills (
    session         text    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq             bigint  NOT NULL,      -- 1, 2, 3 … per session: the `<fill>` in event ids
    idempotency_key text    NOT NULL,      -- the order's `Idempotency-Key`: one fill per key
    symbol          text    NOT NULL,
    side            text    NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity        bigint  NOT NULL CHECK (quantity > 0 AND quantity <= 4294967295),
    price_cents     bigint  NOT NULL CHECK (price_cents > 0),
    time_ms         bigint  NOT NULL,
    PRIMARY KEY (session, seq),
    UNIQUE (session, idempotency_key)
);
