//! The shouldRespond rules that decide without a model (runtime spec §2.4 steps 3 and 5, §2.5).

use eliza_domain::world::RoomState;
use eliza_models::settings::{first_setting, parse_boolean_from_text};

/// Room types the agent always answers in.
pub const ALWAYS_RESPOND_ROOM_TYPES: [&str; 4] = ["DM", "VOICE_DM", "SELF", "API"];
/// The web UI's DM source; any source containing it is answered.
pub const CLIENT_CHAT_SOURCE: &str = "client_chat";

/// The settings the rules read, through [`RespondSettings::from_settings`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RespondSettings {
    /// Extra room types answered without asking the model, upper-case.
    pub always_respond_channels: Vec<String>,
    /// Extra sources (substrings) answered without asking the model, lower-case.
    pub always_respond_sources: Vec<String>,
    /// `BOOTSTRAP_DEFLLMOFF`: stay silent in rooms where the agent has no room state.
    pub default_llm_off: bool,
}

impl RespondSettings {
    /// Reads `ALWAYS_RESPOND_CHANNELS` (legacy `SHOULD_RESPOND_BYPASS_TYPES`),
    /// `ALWAYS_RESPOND_SOURCES` (legacy `SHOULD_RESPOND_BYPASS_SOURCES`) and
    /// `BOOTSTRAP_DEFLLMOFF` through a `getSetting`-like lookup. A blank new name falls back to the
    /// legacy one.
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> RespondSettings {
        let either =
            |name: &str, legacy: &str| first_setting(&get, &[name, legacy]).unwrap_or_default();
        let channels = either("ALWAYS_RESPOND_CHANNELS", "SHOULD_RESPOND_BYPASS_TYPES");
        let sources = either("ALWAYS_RESPOND_SOURCES", "SHOULD_RESPOND_BYPASS_SOURCES");
        RespondSettings {
            always_respond_channels: parse_setting_list(&channels)
                .into_iter()
                .map(|item| item.to_ascii_uppercase())
                .collect(),
            always_respond_sources: parse_setting_list(&sources)
                .into_iter()
                .map(|item| item.to_lowercase())
                .collect(),
            default_llm_off: parse_boolean_from_text(get("BOOTSTRAP_DEFLLMOFF").as_deref()),
        }
    }
}

/// Parses a setting list: `a,b`, `[a, b]` or `["a","b"]`; entries trimmed, quotes removed, empty
/// entries dropped.
pub fn parse_setting_list(value: &str) -> Vec<String> {
    let value = value.trim();
    let value = value
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(value);
    value
        .split(',')
        .map(|item| item.trim().trim_matches(['"', '\'']).trim())
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What the rules know about an incoming message.
#[derive(Debug, Clone, Copy, Default)]
pub struct RespondInput<'a> {
    /// The character's name (a muted agent still answers when named).
    pub agent_name: &'a str,
    /// The message text.
    pub text: &'a str,
    /// The message was written by the agent itself.
    pub from_self: bool,
    /// The room's type (`DM`, `GROUP`, …); `None` when the room does not exist.
    pub room_type: Option<&'a str>,
    /// The agent's `participants.room_state` in the room.
    pub room_state: Option<RoomState>,
    /// `content.source`.
    pub source: Option<&'a str>,
    /// `content.mentionContext.isMention`.
    pub is_mention: bool,
    /// `content.mentionContext.isReply`.
    pub is_reply: bool,
}

/// Why the rules answered without a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespondReason {
    OwnMessage,
    NoRoom,
    DefaultOff,
    Muted,
    RoomType,
    AlwaysRespondChannel,
    Source,
    Mention,
    Reply,
}

impl RespondReason {
    /// The run status or log reason (`self`, `off` and `muted` are the 1.7.2 run statuses).
    pub fn as_str(&self) -> &'static str {
        match self {
            RespondReason::OwnMessage => "self",
            RespondReason::NoRoom => "no_room",
            RespondReason::DefaultOff => "off",
            RespondReason::Muted => "muted",
            RespondReason::RoomType => "room_type",
            RespondReason::AlwaysRespondChannel => "always_respond_channel",
            RespondReason::Source => "source",
            RespondReason::Mention => "mention",
            RespondReason::Reply => "reply",
        }
    }
}

/// The rules' verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespondDecision {
    Respond(RespondReason),
    /// Do not answer. `OwnMessage`, `DefaultOff` and `Muted` end the run before shouldRespond;
    /// `NoRoom` also skips the evaluators.
    Ignore(RespondReason),
    /// No rule applies: ask the model (TEXT_SMALL with the shouldRespond template).
    AskModel,
}

/// Applies, in order: own message; default-off (`BOOTSTRAP_DEFLLMOFF` and no room state); muted
/// room unless the agent is named; no room; always-answered room types; always-answered sources;
/// mentions and replies; otherwise ask the model.
pub fn decide(input: &RespondInput<'_>, settings: &RespondSettings) -> RespondDecision {
    use RespondDecision::{AskModel, Ignore, Respond};
    if input.from_self {
        return Ignore(RespondReason::OwnMessage);
    }
    if settings.default_llm_off && input.room_state.is_none() {
        return Ignore(RespondReason::DefaultOff);
    }
    if input.room_state == Some(RoomState::Muted)
        && !input
            .text
            .to_lowercase()
            .contains(&input.agent_name.to_lowercase())
    {
        return Ignore(RespondReason::Muted);
    }
    let Some(room_type) = input.room_type else {
        return Ignore(RespondReason::NoRoom);
    };
    let room_type = room_type.trim().to_ascii_uppercase();
    if ALWAYS_RESPOND_ROOM_TYPES.contains(&room_type.as_str()) {
        return Respond(RespondReason::RoomType);
    }
    if settings.always_respond_channels.contains(&room_type) {
        return Respond(RespondReason::AlwaysRespondChannel);
    }
    let source = input.source.unwrap_or_default().to_lowercase();
    if source.contains(CLIENT_CHAT_SOURCE)
        || settings
            .always_respond_sources
            .iter()
            .any(|entry| source.contains(entry.as_str()))
    {
        return Respond(RespondReason::Source);
    }
    if input.is_mention {
        return Respond(RespondReason::Mention);
    }
    if input.is_reply {
        return Respond(RespondReason::Reply);
    }
    AskModel
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> RespondSettings {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        RespondSettings::from_settings(|key| map.get(key).cloned())
    }

    fn group<'a>(source: &'a str) -> RespondInput<'a> {
        RespondInput {
            agent_name: "Eliza",
            text: "hello all",
            room_type: Some("GROUP"),
            source: Some(source),
            ..RespondInput::default()
        }
    }

    #[test]
    fn setting_lists() {
        assert_eq!(parse_setting_list("a, b"), ["a", "b"]);
        assert_eq!(
            parse_setting_list(" [\"GROUP\", 'feed' ,] "),
            ["GROUP", "feed"]
        );
        assert_eq!(parse_setting_list("[]"), Vec::<String>::new());
        assert_eq!(parse_setting_list(""), Vec::<String>::new());
        assert_eq!(parse_setting_list("[a"), ["[a"]);
    }

    #[test]
    fn settings_and_legacy_names() {
        let s = settings(&[
            ("ALWAYS_RESPOND_CHANNELS", "[group]"),
            ("ALWAYS_RESPOND_SOURCES", "Discord"),
        ]);
        assert_eq!(s.always_respond_channels, ["GROUP"]);
        assert_eq!(s.always_respond_sources, ["discord"]);
        assert!(!s.default_llm_off);
        let s = settings(&[
            ("ALWAYS_RESPOND_CHANNELS", " "),
            ("SHOULD_RESPOND_BYPASS_TYPES", "feed,thread"),
            ("SHOULD_RESPOND_BYPASS_SOURCES", "telegram"),
            ("BOOTSTRAP_DEFLLMOFF", "yes"),
        ]);
        assert_eq!(s.always_respond_channels, ["FEED", "THREAD"]);
        assert_eq!(s.always_respond_sources, ["telegram"]);
        assert!(s.default_llm_off);
        // The new name wins over the legacy one.
        let s = settings(&[
            ("ALWAYS_RESPOND_SOURCES", "a"),
            ("SHOULD_RESPOND_BYPASS_SOURCES", "b"),
        ]);
        assert_eq!(s.always_respond_sources, ["a"]);
        assert_eq!(settings(&[]), RespondSettings::default());
    }

    #[test]
    fn room_types_always_answered() {
        let none = RespondSettings::default();
        for room in ["DM", "VOICE_DM", "SELF", "API", "dm"] {
            let input = RespondInput {
                room_type: Some(room),
                ..group("x")
            };
            assert_eq!(
                decide(&input, &none),
                RespondDecision::Respond(RespondReason::RoomType),
                "{room}"
            );
        }
        let input = group("x");
        assert_eq!(decide(&input, &none), RespondDecision::AskModel);
        let s = settings(&[("ALWAYS_RESPOND_CHANNELS", "Group")]);
        assert_eq!(
            decide(&input, &s),
            RespondDecision::Respond(RespondReason::AlwaysRespondChannel)
        );
    }

    #[test]
    fn sources() {
        let none = RespondSettings::default();
        assert_eq!(
            decide(&group("client_chat"), &none),
            RespondDecision::Respond(RespondReason::Source)
        );
        assert_eq!(
            decide(&group("My_CLIENT_CHAT_x"), &none),
            RespondDecision::Respond(RespondReason::Source)
        );
        // The web UI's group source is not a DM source.
        assert_eq!(
            decide(&group("client_group_chat"), &none),
            RespondDecision::AskModel
        );
        let s = settings(&[("ALWAYS_RESPOND_SOURCES", "discord")]);
        assert_eq!(
            decide(&group("DISCORD-bot"), &s),
            RespondDecision::Respond(RespondReason::Source)
        );
        assert_eq!(decide(&group("slack"), &s), RespondDecision::AskModel);
        let no_source = RespondInput {
            source: None,
            ..group("")
        };
        assert_eq!(decide(&no_source, &s), RespondDecision::AskModel);
    }

    #[test]
    fn mentions_and_replies() {
        let none = RespondSettings::default();
        let input = RespondInput {
            is_mention: true,
            ..group("discord")
        };
        assert_eq!(
            decide(&input, &none),
            RespondDecision::Respond(RespondReason::Mention)
        );
        let input = RespondInput {
            is_reply: true,
            ..group("discord")
        };
        assert_eq!(
            decide(&input, &none),
            RespondDecision::Respond(RespondReason::Reply)
        );
    }

    #[test]
    fn ending_rules_come_first() {
        let none = RespondSettings::default();
        let own = RespondInput {
            from_self: true,
            room_type: Some("DM"),
            ..group("client_chat")
        };
        assert_eq!(
            decide(&own, &none),
            RespondDecision::Ignore(RespondReason::OwnMessage)
        );

        let no_room = RespondInput {
            room_type: None,
            ..group("client_chat")
        };
        assert_eq!(
            decide(&no_room, &none),
            RespondDecision::Ignore(RespondReason::NoRoom)
        );

        let muted = RespondInput {
            room_state: Some(RoomState::Muted),
            room_type: Some("DM"),
            ..group("x")
        };
        assert_eq!(
            decide(&muted, &none),
            RespondDecision::Ignore(RespondReason::Muted)
        );
        let named = RespondInput {
            text: "hey ELIZA, wake up",
            ..muted
        };
        assert_eq!(
            decide(&named, &none),
            RespondDecision::Respond(RespondReason::RoomType)
        );

        let off = settings(&[("BOOTSTRAP_DEFLLMOFF", "true")]);
        let dm = RespondInput {
            room_type: Some("DM"),
            ..group("x")
        };
        assert_eq!(
            decide(&dm, &off),
            RespondDecision::Ignore(RespondReason::DefaultOff)
        );
        let followed = RespondInput {
            room_state: Some(RoomState::Followed),
            ..dm
        };
        assert_eq!(
            decide(&followed, &off),
            RespondDecision::Respond(RespondReason::RoomType)
        );
    }

    #[test]
    fn reason_names() {
        let reasons = [
            (RespondReason::OwnMessage, "self"),
            (RespondReason::NoRoom, "no_room"),
            (RespondReason::DefaultOff, "off"),
            (RespondReason::Muted, "muted"),
            (RespondReason::RoomType, "room_type"),
            (
                RespondReason::AlwaysRespondChannel,
                "always_respond_channel",
            ),
            (RespondReason::Source, "source"),
            (RespondReason::Mention, "mention"),
            (RespondReason::Reply, "reply"),
        ];
        for (reason, name) in reasons {
            assert_eq!(reason.as_str(), name);
        }
    }
}
