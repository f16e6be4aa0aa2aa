//! Integration tests of eliza-models: the OpenAI-compatible provider against the fake server,
//! and the scripted provider. One binary for fast linking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod openai_chat;
mod openai_embeddings;
mod openai_failures;
mod scripted;
mod support;
