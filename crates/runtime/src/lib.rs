//! The eliza-rs agent runtime: agents that take messages from their inbox, run the elizaOS 1.7.2
//! message pipeline (shouldRespond, providers, prompt templates, XML replies, actions, evaluators)
//! and answer through the messaging outbox.
