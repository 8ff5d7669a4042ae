//! Just enough HTTP/1.1 for one page, a login and a WebSocket upgrade: one request per connection,
//! small bounded heads and bodies (anything larger is refused), no keep-alive.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest request head accepted, bytes.
const MAX_HEAD: usize = 16 * 1024;
/// Largest request body accepted (a login), bytes.
const MAX_BODY: usize = 4 * 1024;

#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (names compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A cookie's value from the `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header("cookie")?.split(';').filter_map(|c| c.trim().split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// A query parameter (`?site=kitchen`), undecoded: site names have no characters that need it.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').filter_map(|p| p.split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn is_websocket_upgrade(&self) -> bool {
        self.header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("connection closed before a whole request arrived")]
    Closed,
    #[error("request too large")]
    TooLarge,
    #[error("malformed request")]
    Malformed,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one request (head and `Content-Length` body).
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Request, HttpError> {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::TooLarge);
        }
        let mut chunk = [0u8; 2048];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(HttpError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| HttpError::Malformed)?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next().ok_or(HttpError::Malformed)?.split(' ');
    let (method, target) = (first.next().ok_or(HttpError::Malformed)?, first.next().ok_or(HttpError::Malformed)?);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut request = Request { method: method.into(), path: path.into(), query: query.into(), headers, body: Vec::new() };
    let length: usize = request.header("content-length").map(|v| v.parse().map_err(|_| HttpError::Malformed)).transpose()?.unwrap_or(0);
    if length > MAX_BODY {
        return Err(HttpError::TooLarge);
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(HttpError::Closed);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    request.body = body;
    Ok(request)
}

/// Writes a whole response and closes the exchange (`Connection: close`).
pub async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    content_type: &str,
    extra_headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
        body.len()
    );
    for (name, value) in extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parses_heads_bodies_cookies_and_queries() {
        let raw = b"POST /login?x=1&site=hall HTTP/1.1\r\nHost: a\r\nCookie: a=1; hearth_session=abc\r\nContent-Length: 5\r\n\r\nhello";
        let mut stream = &raw[..];
        let r = read_request(&mut stream).await.unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/login"));
        assert_eq!(r.query_param("site"), Some("hall"));
        assert_eq!(r.cookie("hearth_session"), Some("abc"));
        assert_eq!(r.body, b"hello");
        let big = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert!(matches!(read_request(&mut big.as_bytes()).await, Err(HttpError::TooLarge)));
        assert!(matches!(read_request(&mut &b"GET / HTTP/1.1\r\n"[..]).await, Err(HttpError::Closed)));
    }
}
