//! The agent runtime over the diesel store (SQLite in memory) and a scripted model: the message
//! pipeline turn by turn, and golden files of the prompts it sends. Kept here, not in
//! eliza-runtime, so the runtime crate never depends on the store, not even for its tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster;
mod composed;
mod harness;
mod pipeline;
mod registry;
