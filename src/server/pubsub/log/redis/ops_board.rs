//! The ops board: one Redis hash, `tickerplex:ops`, where every instance posts its latest `/ops`
//! sample once a second (field: the instance's name; value: the sample's JSON). Each instance
//! reads the whole board in the same round trip, so the `/ops` page of any instance — whichever
//! one an edge picked — shows the whole cluster.
//!
//! A hash rather than pub/sub: one pipelined round trip on the connection every operation
//! already uses, no second connection to keep alive, and a newcomer sees every instance at once.

use super::Redis;
use crate::server::pubsub::log::LogError;
use std::collections::HashMap;

/// The board's key.
const OPS_BOARD: &str = "tickerplex:ops";

impl Redis {
    /// Posts `sample` as `instance`'s, then reads every instance's (this one's included).
    pub async fn ops_board(
        &self,
        instance: &str,
        sample: &str,
    ) -> Result<HashMap<String, String>, LogError> {
        let (board,): (HashMap<String, String>,) = self
            .run(async |conn| {
                redis::pipe()
                    // Write then read in one pipeline, not a transaction: a sample another instance
                    // posts in between only makes the answer fresher, which the page wants anyway.
                    .hset(OPS_BOARD, instance, sample)
                    .ignore()
                    .hgetall(OPS_BOARD)
                    .query_async(conn)
                    .await
            })
            .await?;
        Ok(board)
    }

    /// Takes gone instances off the board.
    pub async fn ops_board_forget(&self, instances: &[String]) -> Result<(), LogError> {
        self.run(async |conn| {
            // One `HDEL` for all of them: the board is cleaned in the same second the instances
            // were found gone, at the cost of one round trip.
            redis::cmd("HDEL")
                .arg(OPS_BOARD)
                .arg(instances)
                .query_async(conn)
                .await
        })
        .await
    }
}
