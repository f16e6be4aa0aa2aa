//! `runtime.getSetting(key)` of 1.7.2: the character's secrets, then its settings, then
//! `settings.secrets`, then the server environment; encrypted values are decrypted on the way out.

use eliza_domain::Character;
use eliza_domain::secrets::SecretCipher;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The process environment as the runtime sees it: a snapshot taken by the server at start-up
/// (tests pass their own), so settings never change under a running agent.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: Arc<HashMap<String, String>>,
}

impl Environment {
    pub fn new(vars: HashMap<String, String>) -> Self {
        Environment {
            vars: Arc::new(vars),
        }
    }

    /// The current process environment.
    pub fn from_process() -> Self {
        Environment::new(std::env::vars().collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// This environment with `key` set to `value` unless it is already set (a default the
    /// server derives, such as the model cache inside its data directory).
    pub fn with_default(self, key: &str, value: impl Into<String>) -> Self {
        if self.get(key).is_some_and(|v| !v.trim().is_empty()) {
            return self;
        }
        let mut vars = (*self.vars).clone();
        vars.insert(key.to_owned(), value.into());
        Environment::new(vars)
    }
}

/// Looks settings up for one character.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    secrets: Map<String, Value>,
    settings: Map<String, Value>,
    env: Environment,
    cipher: SecretCipher,
}

impl AgentSettings {
    pub fn new(character: &Character, env: Environment, cipher: SecretCipher) -> Self {
        AgentSettings {
            secrets: character.secrets.clone(),
            settings: character.settings.clone(),
            env,
            cipher,
        }
    }

    /// The setting as text; a blank or `false`-y JSON value falls through to the next source, as
    /// 1.7.2's `||` chain does.
    pub fn get(&self, key: &str) -> Option<String> {
        let nested = self
            .settings
            .get("secrets")
            .and_then(Value::as_object)
            .and_then(|secrets| secrets.get(key));
        [self.secrets.get(key), self.settings.get(key), nested]
            .into_iter()
            .flatten()
            .find_map(|value| self.as_text(value))
            .or_else(|| self.env.get(key).map(str::to_owned))
    }

    /// A closure over [`AgentSettings::get`], the lookup `eliza_models::settings` expects.
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |key| self.get(key)
    }

    fn as_text(&self, value: &Value) -> Option<String> {
        match value {
            Value::String(text) if !text.is_empty() => Some(self.cipher.decrypt(text)),
            Value::Bool(true) => Some("true".to_owned()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(character: Value, env: &[(&str, &str)]) -> AgentSettings {
        let character = Character::from_json(&character).unwrap();
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        AgentSettings::new(&character, Environment::new(env), SecretCipher::new("salt"))
    }

    #[test]
    fn secrets_win_over_settings_over_nested_secrets_over_the_environment() {
        let cipher = SecretCipher::new("salt");
        let lookup = settings(
            json!({
                "name": "A",
                "bio": "b",
                "secrets": {"ONE": "secret", "BLANK": ""},
                "settings": {"ONE": "setting", "TWO": 2, "BLANK": "from settings",
                             "secrets": {"THREE": cipher.encrypt("decrypted")}, "OFF": false}
            }),
            &[("FOUR", "env"), ("ONE", "env"), ("OFF", "env off")],
        );
        assert_eq!(lookup.get("ONE").as_deref(), Some("secret"));
        assert_eq!(lookup.get("TWO").as_deref(), Some("2"));
        assert_eq!(lookup.get("BLANK").as_deref(), Some("from settings"));
        assert_eq!(lookup.get("THREE").as_deref(), Some("decrypted"));
        assert_eq!(lookup.get("FOUR").as_deref(), Some("env"));
        // `false` falls through, as `||` does in 1.7.2.
        assert_eq!(lookup.get("OFF").as_deref(), Some("env off"));
        assert_eq!(lookup.get("MISSING"), None);
    }
}
