//! Messages and calls, handed off: Hearth never holds anyone's keys. The brain publishes a request
//! (`message/send`, `call/start`) with the contact's channel and address from its contact book and the
//! text the user dictated; whoever holds the accounts (Home Assistant's `notify` services through the
//! shipped blueprint, or any MQTT client) does it and answers with a result carrying the same
//! `request_id`. The brain says "Sent." only on an acknowledgement. Incoming messages come the other
//! way (`message/incoming`) and are announced.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::json_message;
use crate::tool::ToolSpec;

/// The tools the brain answers itself by handing off (the local intents name them too).
pub mod names {
    /// Send a text message to a contact: `{contact, message}`.
    pub const SEND_MESSAGE: &str = "send_message";
    /// Start a call to a contact: `{contact}`.
    pub const CALL_CONTACT: &str = "call_contact";
    /// Reply to the message announced last at the site: `{message}`.
    pub const REPLY_MESSAGE: &str = "reply_message";
}

/// Send a text, on `hearth/<site>/message/send`; answered by a [`MessageResult`] with the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessage {
    /// Echoed in the result.
    pub request_id: String,
    /// The turn that asked for it.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The contact's name as the contact book spells it (`Alex`).
    pub contact: String,
    /// How to reach them, as the handler knows it: `signal`, `telegram`, `sms`, `email`, a Home
    /// Assistant notify service name (`mobile_app_alex_phone`), anything the handler understands.
    pub channel: String,
    /// Where on that channel (a phone number, a chat id, an e-mail address); empty when the channel
    /// alone says it (a notify service for one phone).
    #[serde(default)]
    pub address: String,
    /// The text the user dictated, as recognised.
    pub text: String,
}
json_message!(SendMessage, "message/send");

/// Start a call, on `hearth/<site>/call/start`; answered by a [`CallResult`] with the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartCall {
    pub request_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    /// The contact's name as the contact book spells it.
    pub contact: String,
    /// As in [`SendMessage::channel`] (the contact's `call_channel` when it has one).
    pub channel: String,
    #[serde(default)]
    pub address: String,
}
json_message!(StartCall, "call/start");

/// The handler's answer to a [`SendMessage`], on `hearth/<site>/message/result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageResult {
    pub request_id: String,
    /// True once the handler has handed the message to the service that delivers it.
    pub ok: bool,
    /// Why not, when `ok` is false: a few words the brain speaks after "I couldn't send it: "
    /// ("Signal is not set up"). Absent: the brain says the handler refused it.
    #[serde(default)]
    pub reason: Option<String>,
    /// Who handled it (`home_assistant`, `mosquitto_sub script`), for logs.
    #[serde(default)]
    pub handler: Option<String>,
}
json_message!(MessageResult, "message/result");

/// The handler's answer to a [`StartCall`], on `hearth/<site>/call/result`; fields as [`MessageResult`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallResult {
    pub request_id: String,
    pub ok: bool,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub handler: Option<String>,
}
json_message!(CallResult, "call/result");

/// A message that arrived for the household, on `hearth/<site>/message/incoming`: the brain announces
/// it at the site ("New message from Alex: on my way.") and a "reply …" in the follow-up window answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingMessage {
    /// The sender as the handler knows them: a contact's name or alias, or an address (a phone
    /// number). Matched against the contact book for the spoken name and the reply.
    pub from: String,
    pub text: String,
    /// The channel it came in on; a reply goes back on it (else on the contact's own channel).
    #[serde(default)]
    pub channel: Option<String>,
    /// Where a reply goes on that channel (else the contact's own address).
    #[serde(default)]
    pub address: Option<String>,
}
json_message!(IncomingMessage, "message/incoming");

/// The catalog entries of the hand-off tools, for a language model that is offered them.
pub fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: names::SEND_MESSAGE,
            description: "Send a text message to one of the user's contacts. The user confirms it first.",
            parameters: json!({"type": "object", "properties": {
                "contact": {"type": "string", "description": "The contact's name, e.g. Alex or Mom."},
                "message": {"type": "string", "description": "The message, in the user's words."}
            }, "required": ["contact", "message"]}),
        },
        ToolSpec {
            name: names::CALL_CONTACT,
            description: "Place a phone or video call to one of the user's contacts.",
            parameters: json!({"type": "object", "properties": {
                "contact": {"type": "string", "description": "The contact's name."}
            }, "required": ["contact"]}),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic;

    #[test]
    fn requests_and_results_have_their_topics() {
        assert_eq!(topic::topic_of::<SendMessage>("kitchen"), "hearth/kitchen/message/send");
        assert_eq!(topic::topic_of::<StartCall>("kitchen"), "hearth/kitchen/call/start");
        assert_eq!(topic::topic_of::<MessageResult>("kitchen"), "hearth/kitchen/message/result");
        assert_eq!(topic::topic_of::<CallResult>("kitchen"), "hearth/kitchen/call/result");
        assert_eq!(topic::topic_of::<IncomingMessage>("kitchen"), "hearth/kitchen/message/incoming");
    }

    /// What a handler writes by hand (`mosquitto_pub`) decodes: optional fields may be left out.
    #[test]
    fn a_minimal_result_decodes() {
        let r: MessageResult = serde_json::from_str(r#"{"request_id":"0123456789abcdef","ok":true}"#).unwrap();
        assert_eq!((r.ok, r.reason, r.handler), (true, None, None));
        let r: CallResult = serde_json::from_str(r#"{"request_id":"r","ok":false,"reason":"no phone"}"#).unwrap();
        assert_eq!(r.reason.as_deref(), Some("no phone"));
        let m: IncomingMessage = serde_json::from_str(r#"{"from":"Alex","text":"on my way"}"#).unwrap();
        assert_eq!((m.channel, m.address), (None, None));
    }

    #[test]
    fn tool_names_match_the_catalog_entries() {
        let names: Vec<_> = tools().iter().map(|t| t.name).collect();
        assert_eq!(names, [names::SEND_MESSAGE, names::CALL_CONTACT]);
    }
}
