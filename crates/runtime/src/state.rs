//! The state a prompt is rendered from (`composeState` of 1.7.2, runtime spec §2.6).

use serde_json::{Map, Value};

/// 1.7.2 `Content`: a loose JSON object (`text`, `thought`, `actions`, `source`, …).
pub type Content = Map<String, Value>;

/// What one provider contributed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderResult {
    pub text: String,
    pub values: Map<String, Value>,
    pub data: Map<String, Value>,
}

impl ProviderResult {
    pub fn text(text: impl Into<String>) -> Self {
        ProviderResult {
            text: text.into(),
            ..ProviderResult::default()
        }
    }

    /// Adds a value (a string) under `key`.
    pub fn with_value(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.values.insert(key.to_owned(), value.into());
        self
    }
}

/// The composed state: the providers' texts joined, their values merged, their results kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub text: String,
    pub values: Map<String, Value>,
    /// Results by provider name (`data.providers` of 1.7.2).
    pub providers: Map<String, Value>,
}

impl State {
    /// Folds provider results, already in prompt order, over `base` (values of `base` not
    /// overwritten stay, as cached values do in 1.7.2).
    pub fn compose(base: Option<&State>, results: Vec<(String, ProviderResult)>) -> State {
        let mut values = base.map(|state| state.values.clone()).unwrap_or_default();
        let mut providers = base
            .map(|state| state.providers.clone())
            .unwrap_or_default();
        let mut texts = Vec::with_capacity(results.len());
        for (name, result) in results {
            if !result.text.is_empty() {
                texts.push(result.text.clone());
            }
            for (key, value) in &result.values {
                values.insert(key.clone(), value.clone());
            }
            providers.insert(
                name.clone(),
                serde_json::json!({
                    "text": result.text,
                    "values": result.values,
                    "data": result.data,
                    "providerName": name,
                }),
            );
        }
        let text = texts.join("\n");
        values.insert("providers".to_owned(), Value::String(text.clone()));
        State {
            text,
            values,
            providers,
        }
    }

    /// Sets a value the templates can use.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.values.insert(key.to_owned(), value.into());
    }

    /// The JSON form the prompt renderer reads (`{text, values, data}`).
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "text": self.text,
            "values": self.values,
            "data": {"providers": self.providers},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_join_in_order_and_values_merge_over_the_base() {
        let base = State::compose(
            None,
            vec![(
                "OLD".to_owned(),
                ProviderResult::text("old").with_value("kept", "yes"),
            )],
        );
        let state = State::compose(
            Some(&base),
            vec![
                (
                    "A".to_owned(),
                    ProviderResult::text("a").with_value("x", "1"),
                ),
                ("EMPTY".to_owned(), ProviderResult::default()),
                (
                    "B".to_owned(),
                    ProviderResult::text("b").with_value("x", "2"),
                ),
            ],
        );
        assert_eq!(state.text, "a\nb");
        assert_eq!(state.values["x"], "2");
        assert_eq!(state.values["kept"], "yes");
        assert_eq!(state.values["providers"], "a\nb");
        assert!(state.providers.contains_key("OLD"));
        assert_eq!(state.providers["A"]["providerName"], "A");
    }
}
