//! Prompt rendering (`composePromptFromState`, runtime spec §2.7).
//!
//! * Templates are Handlebars, rendered by a registry whose escape function is the identity: no
//!   HTML escaping anywhere, `{{x}}` behaves like `{{{x}}}` (1.7.2 rewrites the template to get
//!   the same effect).
//! * The context is the state object without `text`, `values` and `data`, with `state.values`
//!   merged over it.
//! * A variable that does not exist renders as the empty string; a template that does not compile
//!   is a [`PromptError::Compile`].
//! * `{{name1}}` … `{{name10}}` still present after rendering (they come from provider texts
//!   such as message examples) are replaced by human names: one name per index within a prompt,
//!   different indexes get different names, chosen with the caller's RNG.

use handlebars::{Handlebars, RenderErrorReason};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value};

/// Names used for `{{name1}}` … `{{name10}}`.
pub const NAMES: [&str; 40] = [
    "Alice", "Bruno", "Chiara", "Dmitri", "Esther", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kwame", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Samir", "Tove",
    "Umar", "Vera", "Wendell", "Ximena", "Yusuf", "Zofia", "Amara", "Bjorn", "Celine", "Diego",
    "Elif", "Felix", "Hana", "Ivan", "Julia", "Kenji", "Lucia", "Marek", "Noor", "Omar",
];

/// How many `{{nameN}}` placeholders are replaced.
pub const NAME_PLACEHOLDERS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("prompt template does not compile: {0}")]
    Compile(String),
    #[error("prompt template failed to render: {0}")]
    Render(String),
}

/// Renders prompt templates. Cheap to share; build one per runtime.
pub struct PromptRenderer {
    registry: Handlebars<'static>,
}

impl Default for PromptRenderer {
    fn default() -> Self {
        PromptRenderer::new()
    }
}

impl std::fmt::Debug for PromptRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptRenderer").finish_non_exhaustive()
    }
}

impl PromptRenderer {
    pub fn new() -> PromptRenderer {
        let mut registry = Handlebars::new();
        registry.register_escape_fn(handlebars::no_escape);
        registry.set_strict_mode(false);
        PromptRenderer { registry }
    }

    /// Renders `template` against `context`, then replaces the `{{nameN}}` left in the output.
    pub fn render(
        &self,
        template: &str,
        context: &Map<String, Value>,
        rng: &mut impl Rng,
    ) -> Result<String, PromptError> {
        let rendered = self
            .registry
            .render_template(template, context)
            .map_err(|err| match err.reason() {
                RenderErrorReason::TemplateError(inner) => PromptError::Compile(inner.to_string()),
                _ => PromptError::Render(err.to_string()),
            })?;
        Ok(replace_name_placeholders(&rendered, rng))
    }

    /// `composePromptFromState`: renders `template` with the context built from `state`.
    pub fn render_state(
        &self,
        template: &str,
        state: &Value,
        rng: &mut impl Rng,
    ) -> Result<String, PromptError> {
        self.render(template, &prompt_context(state), rng)
    }
}

/// The rendering context of a state: `{...state minus text/values/data, ...state.values}`.
/// Anything that is not an object gives an empty context.
pub fn prompt_context(state: &Value) -> Map<String, Value> {
    let Some(state) = state.as_object() else {
        return Map::new();
    };
    let mut context: Map<String, Value> = state
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "text" | "values" | "data"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if let Some(values) = state.get("values").and_then(Value::as_object) {
        for (key, value) in values {
            context.insert(key.clone(), value.clone());
        }
    }
    context
}

/// Replaces `{{name1}}` … `{{name10}}` by names from [`NAMES`], the same name for the same index.
pub fn replace_name_placeholders(text: &str, rng: &mut impl Rng) -> String {
    if !text.contains("{{name") {
        return text.to_owned();
    }
    let names: Vec<&str> = NAMES
        .choose_multiple(rng, NAME_PLACEHOLDERS)
        .copied()
        .collect();
    let mut out = text.to_owned();
    // Highest index first so `{{name1}}` never matches inside `{{name10}}` (it cannot anyway,
    // the closing braces differ, but the order keeps that obvious).
    for index in (1..=NAME_PLACEHOLDERS).rev() {
        let placeholder = format!("{{{{name{index}}}}}");
        if out.contains(&placeholder) {
            let name = names.get(index - 1).copied().unwrap_or("Alex");
            out = out.replace(&placeholder, name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(42)
    }

    fn render(template: &str, state: Value) -> Result<String, PromptError> {
        PromptRenderer::new().render_state(template, &state, &mut rng())
    }

    #[test]
    fn no_html_escaping() {
        let out = render(
            "{{a}}|{{{a}}}|{{b.c}}",
            json!({"values": {"a": "<b>&\"'`=</b>", "b": {"c": "<x>"}}}),
        )
        .unwrap();
        assert_eq!(out, "<b>&\"'`=</b>|<b>&\"'`=</b>|<x>");
    }

    #[test]
    fn context_merges_values_over_state() {
        let state = json!({
            "text": "TEXT",
            "data": {"d": 1},
            "agentName": "outer",
            "extra": "kept",
            "values": {"agentName": "Eliza", "providers": "P"}
        });
        let context = prompt_context(&state);
        assert_eq!(
            Value::Object(context),
            json!({"agentName": "Eliza", "extra": "kept", "providers": "P"})
        );
        let out = render(
            "{{agentName}} {{extra}} {{providers}} [{{text}}] [{{data}}]",
            state,
        )
        .unwrap();
        assert_eq!(out, "Eliza kept P [] []");
        assert!(prompt_context(&json!("not an object")).is_empty());
        assert!(prompt_context(&json!({"values": 3})).is_empty());
    }

    #[test]
    fn missing_variables_render_empty() {
        let out = render(
            "a{{missing}}b{{#if nope}}X{{else}}Y{{/if}}{{#each none}}Z{{/each}}",
            json!({}),
        )
        .unwrap();
        assert_eq!(out, "abY");
    }

    #[test]
    fn blocks_and_numbers() {
        let out = render(
            "{{#if list}}{{#each list}}[{{this}}]{{/each}}{{/if}} {{n}} {{flag}}",
            json!({"values": {"list": ["x", "y"], "n": 3, "flag": true}}),
        )
        .unwrap();
        assert_eq!(out, "[x][y] 3 true");
    }

    #[test]
    fn compile_errors_are_clear() {
        for template in ["{{#if x}}unclosed", "{{", "{{/if}}", "{{#each}}{{/if}}"] {
            match render(template, json!({})) {
                Err(err @ PromptError::Compile(_)) => {
                    assert!(
                        err.to_string()
                            .starts_with("prompt template does not compile"),
                        "{err}"
                    );
                }
                other => panic!("{template:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn render_errors_are_reported() {
        match render("{{lookup}}", json!({})) {
            Err(err @ PromptError::Render(_)) => {
                assert!(
                    err.to_string()
                        .starts_with("prompt template failed to render"),
                    "{err}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn name_placeholders_from_values_are_replaced_consistently() {
        let state = json!({"values": {"examples": "{{name1}}: hi\n{{name2}}: hello {{name1}}\n{{name10}}: yo"}});
        let out = render("{{examples}} {{name1}}", state.clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        let first = lines[0].split(':').next().unwrap();
        let second = lines[1].split(':').next().unwrap();
        let tenth = lines[2].split(':').next().unwrap();
        assert!(NAMES.contains(&first) && NAMES.contains(&second) && NAMES.contains(&tenth));
        assert_ne!(first, second);
        assert_ne!(first, tenth);
        assert!(lines[1].ends_with(&format!("hello {first}")));
        // The template's own `{{name1}}` is a missing variable: empty.
        assert!(lines[2].ends_with("yo "));
        assert!(!out.contains("{{"));
        // Same seed, same names.
        assert_eq!(
            render("{{examples}}", state.clone()).unwrap(),
            render("{{examples}}", state).unwrap()
        );
        // Indexes beyond 10 stay.
        assert_eq!(
            replace_name_placeholders("{{name11}} {{name}}", &mut rng()),
            "{{name11}} {{name}}"
        );
        assert_eq!(replace_name_placeholders("plain", &mut rng()), "plain");
    }

    #[test]
    fn renderer_is_debug_and_default() {
        assert_eq!(
            format!("{:?}", PromptRenderer::default()),
            "PromptRenderer { .. }"
        );
    }
}
