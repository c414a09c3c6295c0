//! A PEM file of CA certificates, named to trust a server whose certificate an own CA
//! issued: the directory (an instance's `ca-file`), the database (`ILM_DATABASE_CA_FILE`),
//! the mail server (`ca=` in the SMTP URL).

use rustls::pki_types::{pem::PemObject, CertificateDer};
use rustls::RootCertStore;
use std::path::Path;

/// The certificates of the PEM file at `path`. The error says why the file cannot be used
/// (unreadable, malformed, or without a certificate); the caller names the file.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("it holds no PEM certificate".to_owned());
    }
    Ok(certs)
}

/// The file's certificates as the roots a TLS client trusts.
pub fn roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path)? {
        roots.add(cert).map_err(|e| e.to_string())?;
    }
    Ok(roots)
}
