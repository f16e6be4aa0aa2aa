//! Shared helpers for end-to-end tests live in the test target.
