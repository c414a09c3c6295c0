//! Sealing the values the store must never hold in clear (instance secrets, the results of
//! sensitive journal calls): ChaCha20-Poly1305 under the runtime's secret key, a fresh
//! random nonce per value, and the value's place (instance and parameter, or incident and
//! call) as associated data. A sealed value therefore opens only under the same key and in
//! the same place: one copied to another instance or parameter fails to open instead of
//! handing that instance the other's secret.

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use sha2::{Digest, Sha256};

/// Bytes in a secret key.
pub const KEY_LEN: usize = 32;

/// The format tag of sealed text; a later format gets `v2:` and this one stays readable.
const V1: &str = "v1:";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// The runtime's secret key, ready to seal and open values.
pub struct Cipher {
    key: LessSafeKey,
    id: String,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cipher(key id {})", self.id)
    }
}

impl Cipher {
    pub fn new(key: &[u8; KEY_LEN]) -> Result<Self> {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, key)
            .map_err(|_| anyhow::anyhow!("the secret key is not a ChaCha20-Poly1305 key"))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            id: key_id(key),
        })
    }

    /// A short public name of the key: the database records it, so a wrong key is
    /// recognised before anything is opened with it. It reveals nothing of the key.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// `plain` sealed for `place`, as `v1:<base64 of nonce, ciphertext and tag>`.
    ///
    /// Nonces are random: 96 bits keep the chance of a repeat negligible far beyond the
    /// number of secrets and sensitive journal results one database ever seals.
    pub fn seal(&self, place: &str, plain: &[u8]) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("drawing a nonce: {e}"))?;
        let mut sealed = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(place.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| anyhow::anyhow!("sealing {place} failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{V1}{}", B64.encode(out)))
    }

    /// Opens what [`Cipher::seal`] sealed for the same `place`.
    pub fn open(&self, place: &str, sealed: &str) -> Result<Vec<u8>> {
        let Some(body) = sealed.strip_prefix(V1) else {
            bail!(
                "{place} is sealed in an unknown format ({:?}); a newer ilm wrote it",
                sealed.split(':').next().unwrap_or_default()
            );
        };
        let bytes = B64
            .decode(body)
            .with_context(|| format!("{place}: the sealed value is damaged"))?;
        if bytes.len() < NONCE_LEN {
            bail!("{place}: the sealed value is damaged (too short)");
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().context("the nonce")?;
        let mut buf = rest.to_vec();
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(place.as_bytes()),
                &mut buf,
            )
            .map_err(|_| {
                anyhow::anyhow!(
                    "{place} does not open with the secret key (id {}): the sealed value was altered or copied from another place",
                    self.id
                )
            })?;
        Ok(plain.to_vec())
    }
}

fn key_id(key: &[u8; KEY_LEN]) -> String {
    let digest = Sha256::new()
        .chain_update(b"ilm secret key id\0")
        .chain_update(key)
        .finalize();
    hex::encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> Cipher {
        Cipher::new(&[byte; KEY_LEN]).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_in_its_place_only() {
        let c = cipher(7);
        let sealed = c.seal("instance:a:token", b"hunter2").unwrap();
        assert!(sealed.starts_with("v1:"), "{sealed}");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(c.open("instance:a:token", &sealed).unwrap(), b"hunter2");
        let err = c.open("instance:b:token", &sealed).unwrap_err().to_string();
        assert!(err.contains("copied from another place"), "{err}");
    }

    #[test]
    fn the_same_value_seals_differently_each_time() {
        let c = cipher(7);
        assert_ne!(c.seal("p", b"x").unwrap(), c.seal("p", b"x").unwrap());
    }

    #[test]
    fn another_key_or_a_flipped_byte_does_not_open() {
        let sealed = cipher(7).seal("p", b"secret").unwrap();
        assert!(cipher(8).open("p", &sealed).is_err());
        let mut bytes = B64.decode(&sealed[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("v1:{}", B64.encode(bytes));
        assert!(cipher(7).open("p", &tampered).is_err());
        let err = cipher(7).open("p", "v9:abc").unwrap_err().to_string();
        assert!(err.contains("unknown format"), "{err}");
    }

    #[test]
    fn key_ids_differ_per_key() {
        assert_ne!(cipher(1).key_id(), cipher(2).key_id());
        assert_eq!(cipher(1).key_id(), cipher(1).key_id());
    }
}
