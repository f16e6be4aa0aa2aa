//! Integration tests of eliza-runtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod composed;
mod golden;
mod harness;
mod pipeline;
