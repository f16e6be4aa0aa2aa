//! The agent lifecycle port: which agents have a running runtime. The runtime crate implements it
//! for real; [`StatusRegistry`] tracks status only, for a server with no runtime wired in.

use crate::agent::{Agent, AgentStatus};
use crate::ids::AgentId;
use async_trait::async_trait;
use std::sync::{Mutex, PoisonError};

/// Why an agent could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// Starts and stops agent runtimes and reports their status.
#[async_trait]
pub trait AgentLifecycle: Send + Sync {
    /// Starts the agent; starting a running agent succeeds without doing anything.
    async fn start(&self, agent: &Agent) -> Result<(), StartError>;
    /// Stops the agent; returns whether it was running.
    async fn stop(&self, id: AgentId) -> bool;
    /// Applies a changed character to a running agent (hot update or restart, as the runtime decides).
    async fn update(&self, agent: &Agent) -> Result<(), StartError>;
    fn status(&self, id: AgentId) -> AgentStatus;
    fn running(&self) -> Vec<AgentId>;
}

/// Tracks which agents are started, in start order ("the first running agent" of 1.7.2); does no
/// work for them.
#[derive(Debug, Default)]
pub struct StatusRegistry {
    running: Mutex<Vec<AgentId>>,
}

impl StatusRegistry {
    fn with_running<T>(&self, f: impl FnOnce(&mut Vec<AgentId>) -> T) -> T {
        f(&mut self.running.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl AgentLifecycle for StatusRegistry {
    async fn start(&self, agent: &Agent) -> Result<(), StartError> {
        self.with_running(|running| {
            if !running.contains(&agent.id) {
                running.push(agent.id);
            }
        });
        Ok(())
    }

    async fn stop(&self, id: AgentId) -> bool {
        self.with_running(|running| {
            let before = running.len();
            running.retain(|known| *known != id);
            running.len() != before
        })
    }

    async fn update(&self, _agent: &Agent) -> Result<(), StartError> {
        Ok(())
    }

    fn status(&self, id: AgentId) -> AgentStatus {
        if self.with_running(|running| running.contains(&id)) {
            AgentStatus::Active
        } else {
            AgentStatus::Inactive
        }
    }

    fn running(&self) -> Vec<AgentId> {
        self.with_running(|running| running.clone())
    }
}
