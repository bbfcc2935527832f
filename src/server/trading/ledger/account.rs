//! Who an order is for: a session's id (the cookie's value) and its account's number (the
//! `<account>` of its portfolio's `<account>-<fill>` ids).
//!
//! Apart from the ledger's rows because both exist before any row does: sessions are lazy, so
//! an id and its number are made and used — by the cookie, by the portfolio stream — without
//! the database (see [`SessionId`]).

use rand::Rng;

/// A session's id: 128 random bits as 32 lowercase hex digits, the cookie's value. A bearer
/// token and nothing else: it encodes no user, no time, no signature.
///
/// Lazy: an id is made for a visitor without writing anything (`server::trading::session`), and the
/// ledger gets a row for it only with its first order. Until then the account is the empty one
/// every new session starts with, so there is nothing to store — and a crawler that loads the
/// dashboard a million times costs the ledger nothing. An id nobody made (forged, or swept)
/// is therefore just another empty account: its holder sees no one else's portfolio, since
/// guessing a live id means guessing 128 random bits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(pub(super) String);

impl SessionId {
    /// A new id, from the thread's cryptographically secure generator (`rand::rng`).
    pub fn random() -> SessionId {
        let bits: u128 = rand::rng().random();
        SessionId(format!("{bits:032x}"))
    }

    /// The id in a cookie, if it has the shape of one (a forged value of another shape never
    /// reaches the database).
    pub fn parse(text: &str) -> Option<SessionId> {
        (text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| SessionId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A live session: its id, and the number that starts its portfolio's event ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Whose orders and fills: the key of every ledger row of this account.
    pub session: SessionId,
    /// The epoch of its portfolio's ids ([`account_number`]): derived, so every instance gives the
    /// same ids without asking the ledger.
    pub number: u64,
}

impl Account {
    /// A new session's account: a new id, nothing stored (see [`SessionId`]).
    pub fn new_session() -> Account {
        Account::unrecorded(SessionId::random())
    }

    /// The account of a session the ledger holds no row for (yet): empty, numbered by
    /// [`account_number`], so every instance gives it the same ids before and after its first
    /// order writes the row.
    pub fn unrecorded(session: SessionId) -> Account {
        let number = account_number(&session);
        Account { session, number }
    }
}

/// The number a session's portfolio ids start with (`<number>-<fill>`), derived from its id:
/// FNV-1a over the id's text, kept below 2^53 (the ids read the same in JavaScript) and never 0
/// (an empty log's epoch). A hash, not a slice of the id: the ids are visible to page scripts,
/// and the cookie (HttpOnly) is not. Why FNV-1a by hand rather than a hashing crate: the value
/// must never change between builds or Rust versions (std's `DefaultHasher` may), it is ten
/// lines, and it protects nothing — a portfolio's ids are no secret, only its cookie is.
pub fn account_number(session: &SessionId) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in session.as_str().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash & ((1u64 << 53) - 1)).max(1)
}
