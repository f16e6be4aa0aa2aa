//! Model providers for eliza-rs: the model types of elizaOS 1.7.2 (`TEXT_SMALL`, `TEXT_LARGE`,
//! `TEXT_EMBEDDING`, …) behind provider traits, with OpenAI-compatible, Ollama, Anthropic and local
//! implementations.
