use thiserror::Error;

/// Everything that can go wrong on the bus.
#[derive(Debug, Error)]
pub enum BusError {
    #[error("could not encode {what} as JSON: {source}")]
    EncodeJson { what: &'static str, source: serde_json::Error },
    #[error("could not encode {what} as msgpack: {source}")]
    EncodeMsgpack { what: &'static str, source: rmp_serde::encode::Error },
    #[error("payload is not a valid {what} in JSON: {source}")]
    DecodeJson { what: &'static str, source: serde_json::Error },
    #[error("payload is not a valid {what} in msgpack: {source}")]
    DecodeMsgpack { what: &'static str, source: rmp_serde::decode::Error },
    #[error("MQTT client: {0}")]
    Client(#[from] rumqttc::ClientError),
    #[error("no connection to the broker at {addr} within {waited_ms} ms (is `hearth broker` or `hearth up` running?)")]
    NotConnected { addr: String, waited_ms: u64 },
    #[error("invalid bus setting `{key}`: {why}")]
    Config { key: &'static str, why: String },
}
