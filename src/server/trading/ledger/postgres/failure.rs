//! Why a Postgres operation failed, before the caller hears it as a `LedgerError`: the
//! ledger's own refusals pass through; a database or pool error becomes `Storage`, told in one
//! line that names what went wrong (never the URL, so never the password).

use crate::server::trading::ledger::LedgerError;
use tokio_postgres::error::SqlState;

/// Why an operation failed, before it is told to the caller as a [`LedgerError`].
///
/// One enum instead of `LedgerError` all the way down: the unique-violation retry
/// (`is_unique_violation`) needs the database's own error code, which a `LedgerError::Storage`
/// string would already have lost.
pub(super) enum Failure {
    /// Said in the ledger's own terms: a refusal (cash, shares, a reused key) or a timeout.
    Ledger(LedgerError),
    /// The database refused or the connection failed: an error with a SQLSTATE when the server
    /// answered, without one when it did not.
    Db(tokio_postgres::Error),
    /// No connection from the pool: none came free within its wait, or a new one could not be made.
    Pool(deadpool_postgres::PoolError),
    /// A row this binary cannot read (an unknown side, a negative quantity): a bug or another
    /// writer, reported rather than skipped.
    Corrupt(String),
}

impl From<LedgerError> for Failure {
    fn from(error: LedgerError) -> Failure {
        Failure::Ledger(error)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Failure {
        Failure::Db(error)
    }
}

impl From<deadpool_postgres::PoolError> for Failure {
    fn from(error: deadpool_postgres::PoolError) -> Failure {
        Failure::Pool(error)
    }
}

impl Failure {
    /// What the caller hears. The detail (which may name tables, never data) goes to the log
    /// line the ledger writes when its health changes; clients read only "unavailable".
    pub(super) fn into_ledger(self) -> LedgerError {
        match self {
            Failure::Ledger(error) => error,
            Failure::Db(error) => LedgerError::Storage(describe(&error)),
            Failure::Pool(error) => {
                LedgerError::Storage(format!("no connection to Postgres: {error}"))
            }
            Failure::Corrupt(what) => {
                LedgerError::Storage(format!("a fill row is corrupt: {what}"))
            }
        }
    }

    /// Whether two transactions raced for the same idempotency key or fill number: the loser
    /// retries once and then reads the winner's fill (see `Postgres::record`).
    pub(super) fn is_unique_violation(&self) -> bool {
        matches!(self, Failure::Db(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION))
    }
}

/// A Postgres error in one line: the kind, and the server's message or the cause.
pub(super) fn describe(error: &tokio_postgres::Error) -> String {
    match (error.as_db_error(), std::error::Error::source(error)) {
        // The server's message and code, never the statement's parameters: those are a user's data.
        (Some(db), _) => format!("Postgres: {} ({})", db.message(), db.code().code()),
        (None, Some(cause)) => format!("Postgres: {error}: {cause}"),
        (None, None) => format!("Postgres: {error}"),
    }
}
