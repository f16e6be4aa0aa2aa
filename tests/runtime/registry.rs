//! Starting agents: what stops a start, and that a failed start leaves nothing running.

use crate::harness::character;
use chrono::Utc;
use eliza_bus::AgentInboxes;
use eliza_domain::lifecycle::AgentLifecycle;
use eliza_domain::secrets::SecretCipher;
use eliza_domain::{Agent, AgentStatus, Store};
use eliza_runtime::plugin::{Plugin, PluginCatalog};
use eliza_runtime::{AgentRegistry, Environment, RegistryConfig, RuntimeOptions};
use eliza_store::{DieselStore, StoreOptions};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

async fn registry(catalog: PluginCatalog) -> (AgentRegistry, Agent) {
    let store: Arc<dyn Store> = Arc::new(
        DieselStore::connect(":memory:", StoreOptions::default())
            .await
            .unwrap(),
    );
    let config = RegistryConfig {
        env: Environment::new(HashMap::new()),
        cipher: SecretCipher::new("test"),
        options: RuntimeOptions::default(),
        catalog,
        models: Arc::new(|_, _| Ok(Vec::new())),
    };
    let agent = Agent::new(
        character(json!({"plugins": ["@acme/plugin-broken"]})),
        Utc::now(),
    );
    store.create_agent(&agent).await.unwrap();
    (
        AgentRegistry::new(store, AgentInboxes::new(), config),
        agent,
    )
}

#[tokio::test]
async fn agents_cannot_start_before_the_outbox_is_wired() {
    let (registry, agent) = registry(PluginCatalog::new()).await;
    let err = registry.start(&agent).await.unwrap_err();
    assert!(err.0.contains("not wired to messaging"), "{err}");
    assert_eq!(registry.status(agent.id), AgentStatus::Inactive);
}

#[tokio::test]
async fn a_plugin_that_fails_to_build_stops_the_start_with_its_reason() {
    let mut catalog = PluginCatalog::new();
    catalog.register(
        "@acme/plugin-broken",
        Arc::new(|_| -> Result<Arc<dyn Plugin>, String> { Err("ACME_KEY is not set".to_owned()) }),
    );
    let (registry, agent) = registry(catalog).await;
    registry.set_outbox(Arc::new(crate::harness::Recorder::default()));
    let err = registry.start(&agent).await.unwrap_err();
    assert_eq!(err.0, "plugin @acme/plugin-broken: ACME_KEY is not set");
    assert!(registry.running().is_empty());
}
