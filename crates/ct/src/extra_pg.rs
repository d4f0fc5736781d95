//! [`PostgresExtraDataStore`]: the extra data and issued SCTs of a CT log in PostgreSQL
//! (feature `postgres`), beside the log's own tables in its schema.

use crate::{CtError, ExtraDataStore, IssuedSct};
use sqlx::postgres::PgPool;
use tokio::runtime::Handle;

/// The tables, created if missing in the pool's `search_path` schema.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS ct_extra_data (
        leaf_hash BYTEA PRIMARY KEY,
        data BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ct_issued_scts (
        precert BYTEA PRIMARY KEY,
        timestamp_ms BIGINT NOT NULL,
        signature BYTEA NOT NULL)",
];

/// An [`ExtraDataStore`] in PostgreSQL: `ct_extra_data (leaf_hash, data)` and
/// `ct_issued_scts (precert, timestamp_ms, signature)`.
///
/// A `put` is one transaction writing both rows, committed with `synchronous_commit` on (as
/// the pool of [`signet_log::PostgresStore`] forces), so it is durable when it returns. Its
/// writes are not fenced by the lease epoch: a stale sequencer may still record extra data
/// for a leaf it can no longer log, which is harmless (rows are keyed by leaf hash, and an
/// issued-SCT record whose leaf is not in the tree is issued anew).
///
/// The trait is synchronous (the log calls it on tokio's blocking pool): each call runs its
/// queries on the runtime it was created in.
#[derive(Debug, Clone)]
pub struct PostgresExtraDataStore {
    pool: PgPool,
    runtime: Handle,
}

fn failed(op: &'static str) -> impl Fn(sqlx::Error) -> CtError {
    move |e| CtError::ExtraData {
        op,
        detail: e.to_string(),
    }
}

impl PostgresExtraDataStore {
    /// Uses `pool` (whose `search_path` is the CT log's schema) and creates the tables if
    /// missing. Must be called inside a tokio runtime, which later calls run on.
    ///
    /// # Errors
    /// [`CtError::ExtraData`] if the tables cannot be created.
    pub async fn open(pool: PgPool) -> Result<Self, CtError> {
        let mut tx = pool.begin().await.map_err(failed("create"))?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('signet schemas'))")
            .execute(&mut *tx)
            .await
            .map_err(failed("create"))?;
        for statement in SCHEMA {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(failed("create"))?;
        }
        tx.commit().await.map_err(failed("create"))?;
        Ok(PostgresExtraDataStore {
            pool,
            runtime: Handle::current(),
        })
    }

    async fn put_async(
        &self,
        leaf_hash: [u8; 32],
        extra_data: &[u8],
        sct: &IssuedSct,
    ) -> Result<(), CtError> {
        let timestamp = i64::try_from(sct.timestamp_ms).map_err(|_| CtError::ExtraData {
            op: "put",
            detail: format!("timestamp {} does not fit a BIGINT", sct.timestamp_ms),
        })?;
        let mut tx = self.pool.begin().await.map_err(failed("put"))?;
        sqlx::query(
            "INSERT INTO ct_extra_data (leaf_hash, data) VALUES ($1, $2) \
             ON CONFLICT (leaf_hash) DO UPDATE SET data = EXCLUDED.data",
        )
        .bind(leaf_hash.as_slice())
        .bind(extra_data)
        .execute(&mut *tx)
        .await
        .map_err(failed("put"))?;
        sqlx::query(
            "INSERT INTO ct_issued_scts (precert, timestamp_ms, signature) VALUES ($1, $2, $3) \
             ON CONFLICT (precert) DO UPDATE SET timestamp_ms = EXCLUDED.timestamp_ms, \
             signature = EXCLUDED.signature",
        )
        .bind(sct.precert.as_slice())
        .bind(timestamp)
        .bind(sct.signature.as_slice())
        .execute(&mut *tx)
        .await
        .map_err(failed("put"))?;
        tx.commit().await.map_err(failed("put"))
    }

    async fn get_async(&self, leaf_hashes: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, CtError> {
        let wanted: Vec<Vec<u8>> = leaf_hashes.iter().map(|h| h.to_vec()).collect();
        let rows: Vec<(Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT leaf_hash, data FROM ct_extra_data WHERE leaf_hash = ANY($1)")
                .bind(wanted)
                .fetch_all(&self.pool)
                .await
                .map_err(failed("get"))?;
        let found: std::collections::HashMap<Vec<u8>, Vec<u8>> = rows.into_iter().collect();
        Ok(leaf_hashes
            .iter()
            .map(|h| found.get(h.as_slice()).cloned())
            .collect())
    }

    async fn issued_sct_async(&self, precert: &[u8; 32]) -> Result<Option<IssuedSct>, CtError> {
        let row: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT timestamp_ms, signature FROM ct_issued_scts WHERE precert = $1")
                .bind(precert.as_slice())
                .fetch_optional(&self.pool)
                .await
                .map_err(failed("get"))?;
        row.map(|(timestamp, signature)| {
            let timestamp_ms = u64::try_from(timestamp).map_err(|_| CtError::Corrupt {
                what: "issued SCT record",
                detail: format!("negative timestamp {timestamp}"),
            })?;
            Ok(IssuedSct {
                precert: *precert,
                timestamp_ms,
                signature,
            })
        })
        .transpose()
    }
}

impl ExtraDataStore for PostgresExtraDataStore {
    fn put(&self, leaf_hash: [u8; 32], extra_data: &[u8], sct: &IssuedSct) -> Result<(), CtError> {
        self.runtime
            .block_on(self.put_async(leaf_hash, extra_data, sct))
    }

    fn get(&self, leaf_hashes: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, CtError> {
        self.runtime.block_on(self.get_async(leaf_hashes))
    }

    fn issued_sct(&self, precert: &[u8; 32]) -> Result<Option<IssuedSct>, CtError> {
        self.runtime.block_on(self.issued_sct_async(precert))
    }
}
