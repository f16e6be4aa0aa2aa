//! The HTTP API end to end: the real app (`eliza_http::app`) over the real diesel store, one module
//! per resource, one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_logs;
mod agent_runtime;
mod agents;
mod audio;
mod backend;
mod cross_cutting;
mod fanout;
mod jobs;
mod limits;
mod local_model;
mod media;
mod memory;
mod memory_fixture;
mod memory_search;
mod messaging_channels;
mod messaging_core;
mod messaging_fixture;
mod messaging_flow;
mod messaging_messages;
mod messaging_servers;
mod multipart;
mod openapi;
mod plugins;
mod realtime;
mod server;
mod sessions;
mod support;
mod system;
mod titles;
mod ui;
mod worlds;
mod ws_client;
