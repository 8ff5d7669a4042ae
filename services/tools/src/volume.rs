//! `set_volume`: "turn it up", "quieter", "volume to 40 percent". The speaker belongs to the audio
//! service; this tool only knows the level it last announced (`audio/volume`, retained) and asks for a
//! new one (`audio/volume/set`). The sentence is spoken after the change, so it is heard at the new level.

use serde_json::Value;

/// One "louder" or "quieter", in percent points.
pub const STEP: u8 = 10;

/// What a `set_volume` call does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The level to ask the audio service for; `None` when nothing changes.
    pub level: Option<u8>,
    pub ok: bool,
    pub sentence: String,
}

impl Change {
    fn to(level: u8, sentence: String) -> Change {
        Change { level: Some(level), ok: true, sentence }
    }

    fn none(ok: bool, sentence: impl Into<String>) -> Change {
        Change { level: None, ok, sentence: sentence.into() }
    }
}

/// The change asked for by `arguments` (`level` 0–100, or `change`: `up`/`down`), from `current`.
pub fn change(current: Option<u8>, arguments: &Value) -> Change {
    if let Some(level) = arguments.get("level").filter(|v| !v.is_null()) {
        return match level.as_f64().filter(|l| (0.0..=100.0).contains(l)) {
            Some(0.0) => Change::to(0, "Okay, the volume is off.".into()),
            Some(l) => Change::to(l.round() as u8, format!("Okay, volume at {} percent.", l.round() as u8)),
            None => Change::none(false, "The volume goes from zero to one hundred percent."),
        };
    }
    let up = match arguments.get("change").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
        Some("up") | Some("louder") => true,
        Some("down") | Some("quieter") => false,
        _ => return Change::none(false, "Should I turn the volume up or down, or to what level?"),
    };
    let Some(current) = current else {
        return Change::none(false, "I don't know the speaker's volume yet, so I can't change it.");
    };
    match (up, current) {
        (true, 100) => Change::none(true, "The volume is already at the maximum."),
        (false, 0) => Change::none(true, "The volume is already off."),
        (true, c) => {
            let level = c.saturating_add(STEP).min(100);
            Change::to(level, format!("Okay, volume up to {level} percent."))
        }
        (false, c) => {
            let level = c.saturating_sub(STEP);
            Change::to(level, if level == 0 { "Okay, the volume is off.".into() } else { format!("Okay, volume down to {level} percent.") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_and_levels() {
        assert_eq!(change(Some(50), &json!({"change": "up"})), Change::to(60, "Okay, volume up to 60 percent.".into()));
        assert_eq!(change(Some(95), &json!({"change": "up"})).level, Some(100));
        assert_eq!(change(Some(100), &json!({"change": "up"})).level, None);
        assert_eq!(change(Some(5), &json!({"change": "down"})), Change::to(0, "Okay, the volume is off.".into()));
        assert_eq!(change(None, &json!({"level": 40})), Change::to(40, "Okay, volume at 40 percent.".into()));
        let unknown = change(None, &json!({"change": "down"}));
        assert!(!unknown.ok && unknown.level.is_none());
        assert!(!change(Some(50), &json!({"level": 140})).ok);
        assert!(!change(Some(50), &json!({})).ok);
    }
}
