//! Agent operations shared by the routes and the binary's `--character` start-up path.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::http::StatusCode;
use chrono::Utc;
use eliza_domain::ids::DEFAULT_SERVER_ID;
use eliza_domain::messaging::MessageServer;
use eliza_domain::secrets::SecretCipher;
use eliza_domain::store::StoreResult;
use eliza_domain::{Agent, AgentStatus, Character, MessageServerId, Store};
use serde_json::{Value, json};

/// Encrypts `settings.secrets` and top-level `secrets` string values, as 1.7.2 does on create and PATCH.
pub fn encrypt_character_secrets(cipher: &SecretCipher, character: &mut Character) {
    cipher.encrypt_map(&mut character.secrets);
    if let Some(Value::Object(secrets)) = character.settings.get_mut("secrets") {
        cipher.encrypt_map(secrets);
    }
}

/// The same for a PATCH body (JSON), leaving `null` deletions alone.
pub fn encrypt_patch_secrets(cipher: &SecretCipher, patch: &mut Value) {
    if let Some(Value::Object(secrets)) = patch.get_mut("secrets") {
        cipher.encrypt_map(secrets);
    }
    if let Some(Value::Object(secrets)) =
        patch.get_mut("settings").and_then(|s| s.get_mut("secrets"))
    {
        cipher.encrypt_map(secrets);
    }
}

/// The default message server every agent joins (1.7.2 creates it at boot with the nil id).
pub async fn ensure_default_server(store: &dyn Store) -> StoreResult<()> {
    let id = MessageServerId(DEFAULT_SERVER_ID);
    if store.get_message_server(id).await?.is_none() {
        let now = Utc::now();
        let server = MessageServer {
            id,
            name: "Default Server".to_owned(),
            source_type: "eliza_default".to_owned(),
            source_id: None,
            metadata: None,
            created_at: now,
            updated_at: now,
        };
        store.create_message_server(&server).await?;
    }
    Ok(())
}

/// Starts an agent (a no-op when it runs already) and registers it on the default server.
pub async fn start_agent(state: &AppState, agent: &Agent) -> Result<(), ApiError> {
    if state.agents.status(agent.id) == AgentStatus::Active {
        return Ok(());
    }
    let start_error = |details: String| {
        ApiError::coded(
            StatusCode::INTERNAL_SERVER_ERROR,
            "START_ERROR",
            "Error starting agent",
        )
        .with_details(details)
    };
    ensure_default_server(state.store.as_ref())
        .await
        .map_err(|err| start_error(err.to_string()))?;
    state
        .store
        .add_agent_to_server(MessageServerId(DEFAULT_SERVER_ID), agent.id)
        .await
        .map_err(|err| start_error(err.to_string()))?;
    state
        .agents
        .start(agent)
        .await
        .map_err(|err| start_error(err.to_string()))
}

/// Creates the agent for a character, or replaces the stored character when it exists (the
/// `--character` and seed `/api/agent/start` semantics), then starts it.
pub async fn upsert_and_start(
    state: &AppState,
    mut character: Character,
) -> Result<Agent, ApiError> {
    encrypt_character_secrets(&state.cipher, &mut character);
    let agent = Agent::new(character, Utc::now());
    let stored = state.store.save_agent(&agent).await?;
    if state.agents.status(stored.id) == AgentStatus::Active {
        apply_to_running(state, &stored).await?;
    } else {
        start_agent(state, &stored).await?;
    }
    Ok(stored)
}

/// Hands a changed character to its running agent (the runtime hot-updates or restarts it).
pub async fn apply_to_running(state: &AppState, agent: &Agent) -> Result<(), ApiError> {
    state.agents.update(agent).await.map_err(|err| {
        ApiError::coded(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UPDATE_ERROR",
            "Error updating agent",
        )
        .with_details(err.to_string())
    })
}

/// The `{id, name, status:"active"}` answer of start/restart.
pub fn started_body(agent: &Agent) -> Value {
    json!({"id": agent.id, "name": agent.character.name, "status": "active"})
}
