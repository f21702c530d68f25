//! TEMPORARY stub.
#![allow(missing_docs)]
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
pub struct Library;
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub struct LoadError;
impl Library {
    pub fn load(_p: &[PathBuf]) -> Result<Library, LoadError> {
        Ok(Library)
    }
}
pub struct ReplayConfig {
    pub library: std::sync::Arc<Library>,
    pub rate: u64,
    pub looped: bool,
    pub limit: Option<u64>,
    pub close_after: Option<u64>,
    pub ping_interval: Duration,
}
pub async fn serve(
    _c: ReplayConfig,
    _l: SocketAddr,
    s: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    s.await;
    Ok(())
}
