//! eliza-e2e holds no library code: its tests live in `http/` (the whole HTTP API through the real
//! app and the diesel store) and `runtime/` (the agent runtime over the store), its benchmark in
//! `benches/`. This crate is a workspace member so that cargo runs them.
