//! TLS for `ilm serve`: the administrator's certificate and key, or a self-signed pair made
//! on first start and kept in the data directory, so that its fingerprint (which clients
//! may pin, or compare before using an "unsafe" TLS option) stays the same across restarts.

use anyhow::{bail, Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Names the self-signed certificate is valid for.
const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate ready to serve.
pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the leaf certificate, as `AB:CD:...`.
    pub fingerprint: String,
    pub cert_path: PathBuf,
    /// True when this start made the self-signed pair.
    pub generated: bool,
}

/// Where the self-signed pair lives in a data directory: (certificate, key).
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

impl Tls {
    /// Loads a PEM certificate chain and its private key.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .with_context(|| format!("reading the certificate {}", cert.display()))?;
        let Some(leaf) = chain.first() else {
            bail!("{} holds no certificate", cert.display());
        };
        let fingerprint = fingerprint(leaf);
        let key = PrivateKeyDer::from_pem_file(key)
            .with_context(|| format!("reading the private key {}", key.display()))?;
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the key do not form a usable pair")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            fingerprint,
            cert_path: cert.to_owned(),
            generated: false,
        })
    }

    /// The data directory's self-signed pair, made on first use.
    pub fn self_signed(data_dir: &Path) -> Result<Self> {
        let (cert, key) = self_signed_paths(data_dir);
        let generated = match (cert.exists(), key.exists()) {
            (true, true) => false,
            (false, false) => {
                generate(&cert, &key)?;
                true
            }
            _ => bail!(
                "only one of {} and {} exists; remove it to have a new pair made",
                cert.display(),
                key.display()
            ),
        };
        Ok(Self {
            generated,
            ..Self::from_files(&cert, &key)?
        })
    }
}

fn generate(cert_path: &Path, key_path: &Path) -> Result<()> {
    let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ilm serve (self-signed)");
    let key = rcgen::KeyPair::generate()?;
    let cert = params
        .self_signed(&key)
        .context("making the self-signed certificate")?;
    if let Some(dir) = cert_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_new(key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_new(cert_path, cert.pem().as_bytes(), 0o644)
}

/// Creates `path` (never overwriting) with `mode` on Unix.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    options
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .with_context(|| format!("writing {}", path.display()))
}

/// `AB:CD:...`, as browsers and `openssl x509 -fingerprint -sha256` show it.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
