//! Why a Postgres operation failed, before the caller hears it as a `LedgerError`: the
//! ledger's own refusals pass through; a database or pool error becomes `Storage`, told in one
//! line that names what went wrong (never the URL, so never the password).

use crate::server::trading::ledger::LedgerError;
use tokio_postgres::error::SqlState;

/// Why an operation failed, before it is told to the caller as a [`LedgerError`].
pub(super) enum Failure {
    /// Said in the ledger's own terms: a refusal (cash, shares, a reused key) or a timeout.
    Ledger(LedgerError),
    Db(tokio_postgres::Error),
    Pool(deadpool_postgres::PoolError),
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

    pub(super) fn is_unique_violation(&self) -> bool {
        matches!(self, Failure::Db(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION))
    }
}

/// A Postgres error in one line: the kind, and the server's message or the cause.
pub(super) fn describe(error: &tokio_postgres::Error) -> String {
    match (error.as_db_error(), std::error::Error::source(error)) {
        (Some(db), _) => format!("Postgres: {} ({})", db.message(), db.code().code()),
        (None, Some(cause)) => format!("Postgres: {error}: {cause}"),
        (None, None) => format!("Postgres: {error}"),
    }
}
