//! Integration tests of eliza-runtime. The pipeline's tests over a real store live in
//! `tests/runtime` (the eliza-e2e crate), so this crate never depends on the store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod golden;
