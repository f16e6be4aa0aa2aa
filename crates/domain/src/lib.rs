//! The elizaOS domain model for eliza-rs: ids, characters and agents with their 1.7.2 validation,
//! the messaging and memory entities, secret encryption, and the ports that adapters implement.
//! No database, web framework or async runtime lives here.

pub mod agent;
pub mod character;
pub mod cluster;
pub mod ids;
pub mod lifecycle;
pub mod log;
pub mod memory;
pub mod messaging;
pub mod records;
pub mod secrets;
pub mod store;
pub mod task;
pub mod world;

pub use agent::{Agent, AgentStatus};
pub use character::{Bio, Character, CharacterError};
pub use ids::*;
pub use store::{Store, StoreError, StoreResult};
