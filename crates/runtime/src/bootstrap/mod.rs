//! The bootstrap plugin every agent has: the core providers, actions and the REFLECTION
//! evaluator of `@elizaos/plugin-bootstrap`.

pub mod actions;
pub mod available_actions;
pub mod character;
pub mod context;
pub mod conversation;
pub mod people;
pub mod reflection;

use crate::plugin::{Action, Evaluator, Plugin, Provider};
use std::sync::Arc;

/// The plugin's name, as characters list it.
pub const NAME: &str = "@elizaos/plugin-bootstrap";

pub struct BootstrapPlugin;

impl Plugin for BootstrapPlugin {
    fn name(&self) -> &str {
        NAME
    }

    /// In 1.7.2's registration order, which breaks ties between equal positions.
    fn providers(&self) -> Vec<Arc<dyn Provider>> {
        vec![
            Arc::new(context::EvaluatorsProvider),
            Arc::new(context::AnxietyProvider),
            Arc::new(context::TimeProvider),
            Arc::new(people::EntitiesProvider),
            Arc::new(people::RelationshipsProvider),
            Arc::new(people::FactsProvider),
            Arc::new(conversation::AttachmentsProvider),
            Arc::new(context::ProvidersProvider),
            Arc::new(available_actions::ActionsProvider),
            Arc::new(context::ActionStateProvider),
            Arc::new(character::CharacterProvider),
            Arc::new(conversation::RecentMessagesProvider),
        ]
    }

    fn actions(&self) -> Vec<Arc<dyn Action>> {
        let mut actions: Vec<Arc<dyn Action>> = vec![
            Arc::new(actions::ReplyAction),
            Arc::new(actions::IgnoreAction),
            Arc::new(actions::NoneAction),
        ];
        for action in actions::RoomStateAction::all() {
            actions.push(Arc::new(action));
        }
        actions
    }

    fn evaluators(&self) -> Vec<Arc<dyn Evaluator>> {
        vec![Arc::new(reflection::ReflectionEvaluator)]
    }
}
