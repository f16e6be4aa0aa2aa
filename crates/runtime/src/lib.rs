//! The eliza-rs agent runtime: agents that take messages from their inbox, run the elizaOS 1.7.2
//! message pipeline (shouldRespond, providers, prompt templates, XML replies, actions, evaluators)
//! and answer through the messaging outbox.
//!
//! The modules here are the pure, I/O-free pieces of the pipeline:
//! * [`xml`]: tolerant parsing of model answers (`parseKeyValueXml`, nested elements included);
//! * [`reply`]: normalisation of the message-handler and shouldRespond answers;
//! * [`should_respond`]: the rules that decide without a model;
//! * [`prompt`]: Handlebars rendering of templates from a state, without HTML escaping;
//! * [`templates`]: the prompt templates and the character's overrides.

pub mod prompt;
pub mod reply;
pub mod should_respond;
pub mod templates;
pub mod xml;
