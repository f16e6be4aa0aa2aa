//! eliza-e2e holds no library code: its tests live in `http/` (the whole HTTP API through the real
//! app and the diesel store). This crate is a workspace member so that cargo runs them.
