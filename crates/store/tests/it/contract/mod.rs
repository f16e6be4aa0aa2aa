//! The behaviours every backend must show, one async function each.

mod agents;
mod logs;
mod memories;
mod message_search;
mod messaging;
mod worlds;

pub use agents::*;
pub use logs::*;
pub use memories::*;
pub use message_search::*;
pub use messaging::*;
pub use worlds::*;

use eliza_domain::StoreError;

/// Asserts the result is the given `StoreError` variant.
#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "expected Conflict, got {result:?}"
    );
}
