//! Taking over a market another instance was moving (the shared log's [feed lease]).
//!
//! A new publisher's own market opened with its own seed, so its prices differ from the ones
//! clients see. Publishing them as they are would be correct — every jump would go out as an
//! `update` with the next id, nothing lost — but every price on every screen would leap at the
//! takeover. Adopting the published prices first makes the takeover invisible: the market
//! carries on from where the old publisher left it.
//!
//! [feed lease]: crate::server::pubsub::log::redis::FeedLease

use super::Market;
use crate::model::Quote;

impl Market {
    /// Sets each listed company's price (and its time) to the published quote for it. Quotes
    /// for companies this market does not list are ignored: at the next publish they leave
    /// their topics, declared with a `remove`.
    pub fn adopt(&mut self, published: &[Quote]) {
        for quote in published {
            if let Some(listing) = self.listed.get_mut(&quote.symbol) {
                listing.price = quote.price;
                listing.time = quote.time;
            }
        }
    }
}
