//! Integration tests of eliza-models: the OpenAI-compatible (chat, Responses, media), Ollama and
//! Anthropic providers against their fake servers, the catalog, and the scripted provider. One
//! binary for fast linking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anthropic;
mod catalog;
#[cfg(feature = "local")]
mod local_files;
#[cfg(feature = "local")]
mod local_models;
mod ollama;
mod openai_chat;
mod openai_embeddings;
mod openai_failures;
mod openai_media;
mod openai_responses;
mod scripted;
mod support;
