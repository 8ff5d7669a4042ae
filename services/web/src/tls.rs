//! The HTTPS certificate: the user's own (`[web] cert`, `key`), else one generated once and kept in
//! `<data_dir>/web` (self-signed, valid for this host's names). Browsers warn about a self-signed
//! certificate until it is trusted: import `cert.pem` (Firefox: Settings → Certificates → Import;
//! Chrome/Android: Settings → Security → Install certificate) or accept the warning once per browser.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;

use crate::config::WebConfig;

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} holds no usable PEM {what}")]
    Pem { path: PathBuf, what: &'static str },
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key do not work together: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The certificate in use and the TLS settings built from it.
pub struct Certificate {
    pub server: Arc<ServerConfig>,
    /// The PEM file users import to trust it.
    pub cert_path: PathBuf,
    /// The certificate itself (DER), for clients in tests.
    pub der: CertificateDer<'static>,
    pub generated: bool,
}

/// Loads the configured certificate, or the generated one (generating it the first time).
pub fn certificate(config: &WebConfig) -> Result<Certificate, TlsError> {
    let (cert_path, key_path, generated) = match (&config.cert, &config.key) {
        (Some(c), Some(k)) => (c.clone(), k.clone(), false),
        _ => {
            let dir = config.state_dir();
            let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !c.is_file() || !k.is_file() {
                generate(&dir, &c, &k, &config.names)?;
            }
            (c, k, true)
        }
    };
    let chain = read_chain(&cert_path)?;
    let key = read_key(&key_path)?;
    let der = chain[0].clone();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Certificate { server: Arc::new(server), cert_path, der, generated })
}

/// The names the generated certificate is valid for.
fn subject_names(extra: &[String]) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if let Some(host) = hostname() {
        names.push(format!("{host}.local"));
        names.push(host);
    }
    names.extend(extra.iter().cloned());
    names.dedup();
    names
}

fn generate(dir: &Path, cert_path: &Path, key_path: &Path, extra: &[String]) -> Result<(), TlsError> {
    let names = subject_names(extra);
    let certified = rcgen::generate_simple_self_signed(names.clone())?;
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write { path: dir.into(), source })?;
    write_private(key_path, certified.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, certified.cert.pem()).map_err(|source| TlsError::Write { path: cert_path.into(), source })?;
    tracing::info!(cert = %cert_path.display(), ?names, "generated a self-signed certificate for the web satellite");
    Ok(())
}

/// Writes the key readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| TlsError::Write { path: path.into(), source })?;
    f.write_all(bytes).map_err(|source| TlsError::Write { path: path.into(), source })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read { path: path.into(), source })?;
    let chain: Vec<_> = CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok).collect();
    if chain.is_empty() {
        return Err(TlsError::Pem { path: path.into(), what: "certificate" });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read { path: path.into(), source })?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| TlsError::Pem { path: path.into(), what: "private key" })
}

fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = WebConfig { data_dir: Some(dir.path().into()), names: vec!["hearth.lan".into()], ..WebConfig::default() };
        let first = certificate(&config).unwrap();
        assert!(first.generated && first.cert_path.is_file());
        let mode = std::fs::metadata(dir.path().join("web/key.pem")).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0, "the key is private");
        let second = certificate(&config).unwrap();
        assert_eq!(first.der, second.der, "the same certificate after a restart: trusted once");
        let broken = WebConfig { cert: Some(dir.path().join("none.pem")), key: Some(dir.path().join("none.key")), ..config };
        assert!(certificate(&broken).err().unwrap().to_string().contains("none.pem"));
    }
}
