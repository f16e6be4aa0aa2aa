//! Rate-limit settings from the environment; unset variables keep the 1.7.2 values.

use crate::config::env_var;
use eliza_http::rate_limit::{LimitRule, RateLimitConfig};
use std::time::Duration;

pub fn rate_limits_from_env() -> Result<RateLimitConfig, String> {
    rate_limits_from(env_var)
}

fn rate_limits_from(lookup: impl Fn(&str) -> Option<String>) -> Result<RateLimitConfig, String> {
    let defaults = RateLimitConfig::default();
    Ok(RateLimitConfig {
        enabled: flag(&lookup, "RATE_LIMIT_ENABLED")?.unwrap_or(defaults.enabled),
        exempt_loopback: flag(&lookup, "RATE_LIMIT_EXEMPT_LOOPBACK")?
            .unwrap_or(defaults.exempt_loopback),
        api: rule(&lookup, "API_RATE_LIMIT", defaults.api)?,
        health: rule(&lookup, "HEALTH_RATE_LIMIT", defaults.health)?,
        upload: rule(&lookup, "UPLOAD_RATE_LIMIT", defaults.upload)?,
        file_system: rule(&lookup, "FILE_RATE_LIMIT", defaults.file_system)?,
        channel_media: rule(&lookup, "CHANNEL_MEDIA_RATE_LIMIT", defaults.channel_media)?,
        trust_forwarded_for: flag(&lookup, "TRUST_PROXY")?.unwrap_or(defaults.trust_forwarded_for),
    })
}

fn flag(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<bool>, String> {
    lookup(name)
        .map(|value| match value.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(format!("{name}: expected true or false, got {value:?}")),
        })
        .transpose()
}

fn number(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<u64>, String> {
    lookup(name)
        .map(|value| {
            value
                .parse::<u64>()
                .map_err(|_| format!("{name}: expected a whole number, got {value:?}"))
        })
        .transpose()
}

/// `<PREFIX>_MAX` and `<PREFIX>_WINDOW_MS`.
fn rule(
    lookup: &impl Fn(&str) -> Option<String>,
    prefix: &str,
    default: LimitRule,
) -> Result<LimitRule, String> {
    let max_name = format!("{prefix}_MAX");
    let window_name = format!("{prefix}_WINDOW_MS");
    let max = number(lookup, &max_name)?
        .map(|max| u32::try_from(max).map_err(|_| format!("{max_name}: {max} is too large")))
        .transpose()?
        .unwrap_or(default.max);
    let window = number(lookup, &window_name)?
        .map(Duration::from_millis)
        .unwrap_or(default.window);
    if window.is_zero() {
        return Err(format!(
            "{window_name}: the window must be longer than 0 ms"
        ));
    }
    Ok(LimitRule::new(max, window))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<RateLimitConfig, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        rate_limits_from(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_1_7_2_values() {
        let config = from(&[]).unwrap();
        assert!(config.enabled && config.exempt_loopback && !config.trust_forwarded_for);
        assert_eq!(config.api.max, 1000);
        assert_eq!(config.api.window, Duration::from_secs(900));
        assert_eq!(
            (
                config.upload.max,
                config.file_system.max,
                config.channel_media.max
            ),
            (50, 100, 100)
        );
        assert_eq!(config.file_system.window, Duration::from_secs(300));
    }

    #[test]
    fn every_limit_can_be_set_or_switched_off() {
        let config = from(&[
            ("RATE_LIMIT_ENABLED", "false"),
            ("API_RATE_LIMIT_MAX", "5"),
            ("API_RATE_LIMIT_WINDOW_MS", "1000"),
            ("HEALTH_RATE_LIMIT_MAX", "7"),
            ("UPLOAD_RATE_LIMIT_MAX", "3"),
            ("FILE_RATE_LIMIT_WINDOW_MS", "2000"),
            ("CHANNEL_MEDIA_RATE_LIMIT_MAX", "4"),
            ("RATE_LIMIT_EXEMPT_LOOPBACK", "no"),
            ("TRUST_PROXY", "1"),
        ])
        .unwrap();
        assert!(!config.enabled && !config.exempt_loopback && config.trust_forwarded_for);
        assert_eq!(
            (config.api.max, config.api.window),
            (5, Duration::from_secs(1))
        );
        assert_eq!(config.health.max, 7);
        assert_eq!(config.upload.max, 3);
        assert_eq!(config.file_system.window, Duration::from_secs(2));
        assert_eq!(config.channel_media.max, 4);
    }

    #[test]
    fn bad_values_are_clear_errors() {
        assert!(
            from(&[("API_RATE_LIMIT_MAX", "many")])
                .unwrap_err()
                .contains("API_RATE_LIMIT_MAX")
        );
        assert!(
            from(&[("RATE_LIMIT_ENABLED", "maybe")])
                .unwrap_err()
                .contains("RATE_LIMIT_ENABLED")
        );
        assert!(
            from(&[("API_RATE_LIMIT_WINDOW_MS", "0")])
                .unwrap_err()
                .contains("longer than 0")
        );
        assert!(
            from(&[("API_RATE_LIMIT_MAX", "99999999999")])
                .unwrap_err()
                .contains("too large")
        );
    }
}
