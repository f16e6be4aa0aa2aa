//! Which model providers an agent gets, as elizaOS picks model plugins.
//!
//! The rule:
//! 1. **The character's `plugins` list**, in its order. `@elizaos/plugin-openai`,
//!    `@elizaos/plugin-anthropic` and `@elizaos/plugin-ollama` (or just `openai`, `anthropic`,
//!    `ollama`) each give their provider, once however often they are listed. Other names
//!    (`@elizaos/plugin-sql`, bootstrap, platform plugins) are not model plugins and are ignored
//!    here. A listed plugin that is not configured (plugin-openai without `OPENAI_API_KEY`) is a
//!    configuration error: the character asked for it.
//!    `@elizaos/plugin-local-ai` (or `local-ai`, `local`) names the built-in local models.
//! 2. **When the list names no model plugin, the settings decide**, as 1.7.2's
//!    `buildCharacterPlugins` does: anthropic when `ANTHROPIC_API_KEY` is set, then openai when
//!    `OPENAI_API_KEY` is set. When neither is set, ollama if `OLLAMA_API_ENDPOINT` (or
//!    `OLLAMA_API_URL`) says where it runs, else the built-in local models, so an agent answers
//!    offline with no configuration at all (1.7.2 falls back to an ollama that is usually not
//!    there).
//!    One difference: anthropic alone is followed by the embedding provider of the no-key case
//!    (ollama or local), because Anthropic has no embeddings and 1.7.2 would then have none at
//!    all (memories stored without vectors).
//!
//! Settings are read through the agent's lookup (character settings, secrets, environment), and
//! blank values count as unset, like 1.7.2's `?.trim()` checks.
//!
//! The runtime asks the providers in the returned order: for each model type the first one
//! that supports it serves it ([`first_supporting`]), as the first registered handler does in
//! 1.7.2 when plugin priorities are equal.

use std::sync::Arc;

use crate::anthropic::AnthropicProvider;
use crate::error::ModelError;
use crate::model_type::ModelType;
use crate::ollama::OllamaProvider;
use crate::openai::OpenAiProvider;
use crate::provider::ModelProvider;
use crate::settings::read_setting;

/// A model plugin of elizaOS that this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelPlugin {
    OpenAi,
    Anthropic,
    Ollama,
    /// The built-in offline models (feature `local`).
    #[cfg(feature = "local")]
    Local,
}

impl ModelPlugin {
    #[cfg(not(feature = "local"))]
    pub const ALL: &[ModelPlugin] = &[Self::OpenAi, Self::Anthropic, Self::Ollama];
    #[cfg(feature = "local")]
    pub const ALL: &[ModelPlugin] = &[Self::OpenAi, Self::Anthropic, Self::Ollama, Self::Local];

    /// The npm package name, as characters list it.
    pub const fn package_name(self) -> &'static str {
        match self {
            Self::OpenAi => "@elizaos/plugin-openai",
            Self::Anthropic => "@elizaos/plugin-anthropic",
            Self::Ollama => "@elizaos/plugin-ollama",
            #[cfg(feature = "local")]
            Self::Local => "@elizaos/plugin-local-ai",
        }
    }

    /// The short name (`openai`), also the provider's [`ModelProvider::name`].
    pub const fn short_name(self) -> &'static str {
        match self {
            Self::OpenAi => crate::openai::PROVIDER_NAME,
            Self::Anthropic => crate::anthropic::PROVIDER_NAME,
            Self::Ollama => crate::ollama::PROVIDER_NAME,
            #[cfg(feature = "local")]
            Self::Local => crate::local::PROVIDER_NAME,
        }
    }

    /// The plugin a `plugins` entry names: the package name or the short name, in any case,
    /// surrounding blanks ignored.
    pub fn from_plugin_name(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL.iter().copied().find(|plugin| {
            name.eq_ignore_ascii_case(plugin.package_name())
                || name.eq_ignore_ascii_case(plugin.short_name())
                || plugin.is_local() && name.eq_ignore_ascii_case("local-ai")
        })
    }

    fn is_local(self) -> bool {
        #[cfg(feature = "local")]
        return self == Self::Local;
        #[cfg(not(feature = "local"))]
        false
    }

    /// Builds the plugin's provider from the settings.
    pub fn provider<F>(self, lookup: &F) -> Result<Arc<dyn ModelProvider>, ModelError>
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        Ok(match self {
            Self::OpenAi => Arc::new(OpenAiProvider::from_settings(lookup)?),
            Self::Anthropic => Arc::new(AnthropicProvider::from_settings(lookup)?),
            Self::Ollama => Arc::new(OllamaProvider::from_settings(lookup)?),
            #[cfg(feature = "local")]
            Self::Local => Arc::new(crate::local::LocalProvider::from_settings(lookup)?),
        })
    }
}

/// The model plugins of an agent, in the order its providers are asked (see the module doc).
pub fn model_plugins_for<S, F>(plugins: &[S], lookup: &F) -> Vec<ModelPlugin>
where
    S: AsRef<str>,
    F: Fn(&str) -> Option<String> + ?Sized,
{
    let mut listed: Vec<ModelPlugin> = Vec::new();
    for plugin in plugins
        .iter()
        .filter_map(|name| ModelPlugin::from_plugin_name(name.as_ref()))
    {
        if !listed.contains(&plugin) {
            listed.push(plugin);
        }
    }
    if listed.is_empty() {
        return plugins_from_settings(lookup);
    }
    listed
}

/// The fallback when the character lists no model plugin.
fn plugins_from_settings<F>(lookup: &F) -> Vec<ModelPlugin>
where
    F: Fn(&str) -> Option<String> + ?Sized,
{
    let is_set = |key| read_setting(lookup, key).is_some();
    let keyless = keyless_plugin(lookup);
    match (is_set("ANTHROPIC_API_KEY"), is_set("OPENAI_API_KEY")) {
        (true, true) => vec![ModelPlugin::Anthropic, ModelPlugin::OpenAi],
        (true, false) => vec![ModelPlugin::Anthropic, keyless],
        (false, true) => vec![ModelPlugin::OpenAi],
        (false, false) => vec![keyless],
    }
}

/// The provider that needs no key: ollama where the settings say it runs, else the local models.
fn keyless_plugin<F>(lookup: &F) -> ModelPlugin
where
    F: Fn(&str) -> Option<String> + ?Sized,
{
    let ollama_configured = ["OLLAMA_API_ENDPOINT", "OLLAMA_API_URL"]
        .iter()
        .any(|key| read_setting(lookup, key).is_some());
    #[cfg(feature = "local")]
    if !ollama_configured {
        return ModelPlugin::Local;
    }
    let _ = ollama_configured;
    ModelPlugin::Ollama
}

/// The providers of an agent whose character lists `plugins`, configured through `lookup`, in
/// the order they are asked (see the module doc). Fails with the first configuration error.
pub fn providers_for<S, F>(
    plugins: &[S],
    lookup: &F,
) -> Result<Vec<Arc<dyn ModelProvider>>, ModelError>
where
    S: AsRef<str>,
    F: Fn(&str) -> Option<String> + ?Sized,
{
    model_plugins_for(plugins, lookup)
        .into_iter()
        .map(|plugin| plugin.provider(lookup))
        .collect()
}

/// The provider that serves `model_type`: the first in `providers` that supports it.
pub fn first_supporting(
    providers: &[Arc<dyn ModelProvider>],
    model_type: ModelType,
) -> Option<&Arc<dyn ModelProvider>> {
    providers.iter().find(|p| p.supports(model_type))
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;

    fn settings(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const NOTHING: &[(&str, &str)] = &[];
    const OPENAI_KEY: (&str, &str) = ("OPENAI_API_KEY", "sk-test");
    const ANTHROPIC_KEY: (&str, &str) = ("ANTHROPIC_API_KEY", "sk-ant-test");
    const OLLAMA_ENDPOINT: (&str, &str) = ("OLLAMA_API_ENDPOINT", "http://127.0.0.1:11434");

    fn names(providers: &[Arc<dyn ModelProvider>]) -> Vec<&str> {
        providers.iter().map(|p| p.name()).collect()
    }

    #[test]
    fn plugin_names_in_both_forms_and_any_case() {
        assert_eq!(
            ModelPlugin::from_plugin_name("@elizaos/plugin-openai"),
            Some(ModelPlugin::OpenAi)
        );
        assert_eq!(
            ModelPlugin::from_plugin_name(" Anthropic "),
            Some(ModelPlugin::Anthropic)
        );
        assert_eq!(
            ModelPlugin::from_plugin_name("@ELIZAOS/PLUGIN-OLLAMA"),
            Some(ModelPlugin::Ollama)
        );
        for local in ["@elizaos/plugin-local-ai", "local-ai", "LOCAL"] {
            assert_eq!(
                ModelPlugin::from_plugin_name(local),
                Some(ModelPlugin::Local)
            );
        }
        for other in [
            "@elizaos/plugin-sql",
            "@elizaos/plugin-bootstrap",
            "openai-compat",
            "",
        ] {
            assert_eq!(ModelPlugin::from_plugin_name(other), None, "{other}");
        }
    }

    #[test]
    fn listed_plugins_keep_their_order_once_each() {
        let plugins = [
            "@elizaos/plugin-sql",
            "@elizaos/plugin-ollama",
            "@elizaos/plugin-bootstrap",
            "openai",
            "@elizaos/plugin-openai",
        ];
        assert_eq!(
            model_plugins_for(&plugins, &settings(&[ANTHROPIC_KEY])),
            [ModelPlugin::Ollama, ModelPlugin::OpenAi]
        );
    }

    #[test]
    fn a_listed_anthropic_gets_no_embedder_added() {
        // The character chose: as in 1.7.2, nothing is added behind its back.
        assert_eq!(
            model_plugins_for(&["anthropic"], &settings(&[ANTHROPIC_KEY, OPENAI_KEY])),
            [ModelPlugin::Anthropic]
        );
    }

    #[test]
    fn without_model_plugins_the_settings_decide() {
        let from = |pairs| model_plugins_for(&["@elizaos/plugin-sql"], &settings(pairs));
        assert_eq!(from(NOTHING), [ModelPlugin::Local]);
        assert_eq!(from(&[OLLAMA_ENDPOINT]), [ModelPlugin::Ollama]);
        assert_eq!(from(&[OPENAI_KEY]), [ModelPlugin::OpenAi]);
        assert_eq!(
            from(&[ANTHROPIC_KEY]),
            [ModelPlugin::Anthropic, ModelPlugin::Local]
        );
        assert_eq!(
            from(&[ANTHROPIC_KEY, OLLAMA_ENDPOINT]),
            [ModelPlugin::Anthropic, ModelPlugin::Ollama]
        );
        assert_eq!(
            from(&[OPENAI_KEY, ANTHROPIC_KEY]),
            [ModelPlugin::Anthropic, ModelPlugin::OpenAi]
        );
        // Blank keys are unset.
        assert_eq!(
            from(&[("OPENAI_API_KEY", " "), ("ANTHROPIC_API_KEY", "")]),
            [ModelPlugin::Local]
        );
        let none: [&str; 0] = [];
        assert_eq!(
            model_plugins_for(&none, &settings(&[OPENAI_KEY])),
            [ModelPlugin::OpenAi]
        );
    }

    #[test]
    fn providers_are_built_in_order_and_serve_by_model_type() {
        let providers = providers_for(
            &[] as &[String],
            &settings(&[ANTHROPIC_KEY, OLLAMA_ENDPOINT]),
        );
        let providers = providers.unwrap_or_default();
        assert_eq!(names(&providers), ["anthropic", "ollama"]);
        let serving = |t| first_supporting(&providers, t).map(|p| p.name());
        assert_eq!(serving(ModelType::TextLarge), Some("anthropic"));
        assert_eq!(serving(ModelType::TextEmbedding), Some("ollama"));
        assert_eq!(serving(ModelType::Image), None);
    }

    #[test]
    fn a_listed_plugin_without_its_key_is_a_configuration_error() {
        let result = providers_for(&["@elizaos/plugin-openai"], &settings(NOTHING));
        assert!(
            matches!(&result, Err(ModelError::Config(m)) if m.starts_with("OPENAI_API_KEY is not set")),
            "{:?}",
            result.map(|p| names(&p).join(","))
        );
        let result = providers_for(&["ollama", "anthropic"], &settings(NOTHING));
        assert!(
            matches!(&result, Err(ModelError::Config(m)) if m.starts_with("ANTHROPIC_API_KEY"))
        );
    }
}
