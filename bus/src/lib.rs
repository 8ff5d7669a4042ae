//! The bus contract of Hearth: every topic string, every payload type and its encoding, and the one
//! MQTT client wrapper that every service uses. Nothing else in the workspace spells a topic or picks a
//! codec; `topics.md` at the workspace root documents this crate one to one.
//!
//! Audio travels as msgpack (compact, binary PCM); every other event is JSON so that `mosquitto_sub`
//! and Home Assistant can read it.
//!
//! # Layout
//! - [`codec`]: the [`Message`] trait, payload encoding and the per-topic count of dropped payloads.
//! - [`topic`]: the `hearth/<site>/…` scheme, topic builders and parsing.
//! - [`client`]: [`Bus`], the MQTT client with its single reconnect loop, status and last will.
//! - [`shutdown`]: the shutdown signal every loop selects on (SIGINT and SIGTERM).
//! - [`ids`]: session, request and utterance ids.
//! - One module per domain with its messages: [`audio`], [`wake`], [`listen`], [`asr`], [`brain`],
//!   [`llm`], [`tool`], [`tts`], [`timer`], [`service`], [`ha`], [`vision`] (camera and `look`),
//!   [`message`] (messages and calls handed off to whoever holds the keys).
//!   [`music`] (the music stream to a room's speaker, its flow control and the player's state).

pub mod asr;
pub mod audio;
pub mod brain;
pub mod client;
pub mod codec;
pub mod error;
pub mod ha;
pub mod ids;
pub mod listen;
pub mod llm;
pub mod message;
pub mod music;
pub mod service;
pub mod shutdown;
pub mod timer;
pub mod tool;
pub mod topic;
pub mod tts;
pub mod vision;
pub mod wake;

pub use client::{Bus, BusClient, BusConfig, Connection, Envelope, Inbox};
pub use codec::{Encoding, Message};
pub use error::BusError;
pub use shutdown::Shutdown;
