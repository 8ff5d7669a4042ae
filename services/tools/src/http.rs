//! The one HTTP client the tools share: a User-Agent naming Hearth (Wikipedia's API policy asks for
//! one), a time limit on every request, and answers read under a size cap, so that a slow, broken or
//! hostile server can neither hang a tool nor fill its memory.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use thiserror::Error;

/// Bigger answers than this are refused; the APIs we call answer in a few kilobytes.
const MAX_BODY_BYTES: usize = 1 << 20;

/// Why a request gave no usable answer.
#[derive(Debug, Error)]
pub enum FetchError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("the server answered HTTP {0}")]
    Status(StatusCode),
    #[error("the answer is not what was expected: {0}")]
    Malformed(String),
}

impl FetchError {
    /// The service could not be reached or did not answer (as opposed to answering nonsense).
    pub fn is_unreachable(&self) -> bool {
        !matches!(self, FetchError::Malformed(_))
    }
}

/// A shared HTTP client with Hearth's User-Agent and a per-request time limit.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    timeout: Duration,
}

impl Http {
    pub fn new(timeout: Duration) -> Result<Http, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Http { client, timeout })
    }

    /// GETs `url` and parses the JSON answer as `T`. Any HTTP status other than 2xx is an error.
    pub async fn json<T: DeserializeOwned>(&self, url: Url) -> Result<T, FetchError> {
        let body = self.body(url).await?;
        serde_json::from_slice(&body).map_err(|e| FetchError::Malformed(e.to_string()))
    }

    async fn body(&self, url: Url) -> Result<Vec<u8>, FetchError> {
        // reqwest's own timeout covers the whole exchange; the outer one also bounds reading the body in
        // chunks, whatever the transport does.
        match tokio::time::timeout(self.timeout, self.fetch(url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn fetch(&self, url: Url) -> Result<Vec<u8>, FetchError> {
        let mut response = self.client.get(url).send().await.map_err(|e| self.classify(e))?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(FetchError::Malformed(format!("answer larger than {MAX_BODY_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        // We parse bodies ourselves, so every reqwest error is about the transport: a body cut short is
        // a connection problem, not a bad answer.
        if e.is_timeout() {
            FetchError::Timeout(self.timeout)
        } else {
            FetchError::Unreachable(e.without_url().to_string())
        }
    }
}

/// `Hearth/<version> (+<repository>)`.
pub fn user_agent() -> String {
    format!("Hearth/{} (home voice assistant; +{})", env!("CARGO_PKG_VERSION"), env!("CARGO_PKG_REPOSITORY"))
}

/// Parses a configured base URL, accepting only http and https.
pub fn parse_base(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("is not a URL ({e})"))?;
    match parsed.scheme() {
        "http" | "https" if parsed.has_host() => Ok(parsed),
        _ => Err("must be an http:// or https:// URL".into()),
    }
}
