//! Seeing: the camera takes one frame on request, the vision service describes it and answers the `look`
//! tool. Nothing streams video; a camera is open only while it takes its one frame.
//!
//! A `look` call (`tool/call/look`) goes to the vision service. It asks the site's camera for a frame
//! (`camera/capture` → `camera/frame`, JPEG), publishes each sentence of the description on `vision/sentence` as
//! soon as it is generated, then answers with the usual `tool/result` holding every sentence (or the short spoken
//! reason it could not look). A brain that streams speaks the `vision/sentence`s as they come and, on the result,
//! only closes the utterance; one that does not speaks the result's sentence.
//!
//! The camera has an off switch (`camera/enabled/set` → `camera/enabled`, retained), stored by the camera
//! service so that it stays off across restarts: while off it takes no picture at all.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::tool::ToolSpec;
use crate::{json_message, msgpack_message};

/// The tool's name.
pub const LOOK: &str = "look";

/// The `look` tool's entry for the tool catalog.
pub fn look_tool() -> ToolSpec {
    ToolSpec {
        name: LOOK,
        description: "Look through the camera and describe what is in front of it, or answer a question about it.",
        parameters: json!({"type": "object", "properties": {
            "question": {"type": "string", "description": "Optional question about the view, e.g. is the stove on?"}
        }, "required": []}),
    }
}

/// The optional question of a `look` call's arguments (`{"question": "…"}`), trimmed; `None` when absent or blank.
pub fn look_question(arguments: &Value) -> Option<String> {
    let q = arguments.get("question")?.as_str()?.trim();
    (!q.is_empty()).then(|| q.to_string())
}

/// One sentence of a `look` answer, on `hearth/<site>/vision/sentence`, published as soon as it is generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisionSentence {
    /// The `look` call this answers.
    pub call_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    /// Sentence number within the answer, from 0.
    pub seq: u32,
    /// The sentence, cleaned for speech.
    pub text: String,
}
json_message!(VisionSentence, "vision/sentence");

/// Take one frame, on `hearth/<site>/camera/capture`; answered by a [`Frame`] with the same `request_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureRequest {
    pub request_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
}
json_message!(CaptureRequest, "camera/capture");

/// The frame taken for a [`CaptureRequest`] (msgpack), on `hearth/<site>/camera/frame`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub request_id: String,
    /// The picture as JPEG; empty when `error` is set.
    #[serde(with = "serde_bytes")]
    pub jpeg: Vec<u8>,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Where it came from: `v4l2:/dev/video0`, `url:<host>`, `file:<name>`.
    pub source: String,
    /// From request to frame, milliseconds.
    pub capture_ms: u64,
    /// Set when no frame could be taken: what went wrong, in words that can be spoken.
    #[serde(default)]
    pub error: Option<String>,
}
msgpack_message!(Frame, "camera/frame");

/// The reason a switched-off camera gives instead of a frame, to follow "I can't see anything right now: ".
pub const CAMERA_OFF_REASON: &str = "the camera is off.";

/// Switch the camera on or off, on `hearth/<site>/camera/enabled/set` (Home Assistant, anyone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetCameraEnabled {
    /// False: no picture is taken until it is switched on again, across restarts.
    pub enabled: bool,
}
json_message!(SetCameraEnabled, "camera/enabled/set");

/// Whether the camera is switched on (retained), on `hearth/<site>/camera/enabled`. Published by the camera
/// service after the switch is stored, and at its start before it takes any request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraEnabled {
    pub enabled: bool,
}
json_message!(CameraEnabled, "camera/enabled", retain);

/// Whether the camera is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraActivity {
    Idle,
    Capturing,
    #[serde(other)]
    Unknown,
}

/// The camera's state (retained), on `hearth/<site>/camera/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraState {
    pub state: CameraActivity,
    /// The configured source, as in [`Frame::source`].
    pub source: String,
    pub timestamp_ms: i64,
}
json_message!(CameraState, "camera/state", retain);

/// One capture happened (for Home Assistant and logs; the picture itself is only in [`Frame`]), on
/// `hearth/<site>/camera/captured`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Captured {
    pub request_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    pub ok: bool,
    pub source: String,
    /// Pixels; 0 when no frame was taken.
    pub width: u32,
    /// Pixels; 0 when no frame was taken.
    pub height: u32,
    /// Size of the JPEG, bytes.
    pub jpeg_bytes: u64,
    /// From request to frame, milliseconds.
    pub capture_ms: u64,
    #[serde(default)]
    pub error: Option<String>,
    pub timestamp_ms: i64,
}
json_message!(Captured, "camera/captured");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Message;

    #[test]
    fn frames_round_trip_as_msgpack_and_question_is_optional() {
        let frame = Frame {
            request_id: "r".into(),
            jpeg: vec![0xFF, 0xD8, 0xFF],
            width: 640,
            height: 480,
            source: "file:room.jpg".into(),
            capture_ms: 12,
            error: None,
        };
        let bytes = frame.to_payload().unwrap();
        assert_eq!(Frame::from_payload(&bytes).unwrap(), frame);
        assert_eq!(look_question(&json!({"question": "  is the stove on? "})).as_deref(), Some("is the stove on?"));
        assert_eq!(look_question(&json!({"question": " "})), None);
        assert_eq!(look_question(&json!({})), None);
        assert_eq!(look_tool().name, LOOK);
        let state: CameraState = serde_json::from_str(r#"{"state":"warming","source":"x","timestamp_ms":1}"#).unwrap();
        assert_eq!(state.state, CameraActivity::Unknown);
        assert_eq!(crate::topic::topic_of::<SetCameraEnabled>("kitchen"), "hearth/kitchen/camera/enabled/set");
        assert_eq!(crate::topic::topic_of::<CameraEnabled>("kitchen"), "hearth/kitchen/camera/enabled");
        assert!(CameraEnabled::RETAIN && !SetCameraEnabled::RETAIN);
        assert!(!CameraEnabled::matches(SetCameraEnabled::SUFFIX));
    }
}
