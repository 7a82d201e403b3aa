//! Credentials at rest: sealed with AES-256-GCM under the key configured in
//! `DINGDAN_SECRET_KEY` (32 bytes, base64). Each value has its own random
//! nonce; the stored text is base64(nonce ‖ ciphertext ‖ tag). Without the
//! key nothing can be sealed or opened, so features that store credentials
//! refuse to start rather than store them in the clear.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;

const NONCE_LEN: usize = 12;

/// The configured key.
#[derive(Clone)]
pub struct SecretKey(Aes256Gcm);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// From base64 of exactly 32 bytes (`openssl rand -base64 32`).
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "not base64".to_owned())?;
        if bytes.len() != 32 {
            return Err(format!(
                "{} bytes; 32 are needed (`openssl rand -base64 32`)",
                bytes.len()
            ));
        }
        Aes256Gcm::new_from_slice(&bytes)
            .map(Self)
            .map_err(|_| "not a 256-bit key".to_owned())
    }

    /// Seals `plaintext` under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, String> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .0
            .encrypt(&Nonce::from(nonce), plaintext)
            .map_err(|_| "encryption failed".to_owned())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// Opens what [`Self::seal`] made; fails for another key or any change.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| "sealed value is not base64".to_owned())?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err("sealed value is too short".to_owned());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| "sealed value is too short".to_owned())?;
        self.0
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| "cannot open: another key, or the value was changed".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([byte; 32]))
            .unwrap()
    }

    #[test]
    fn sealed_values_open_with_their_key_only_and_never_repeat() {
        let k = key(7);
        let a = k.seal(b"shpat_secret").unwrap();
        let b = k.seal(b"shpat_secret").unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("shpat"));
        assert_eq!(k.open(&a).unwrap(), b"shpat_secret");
        assert!(key(8).open(&a).is_err());
        let mut tampered = base64::engine::general_purpose::STANDARD
            .decode(&a)
            .unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(
            k.open(&base64::engine::general_purpose::STANDARD.encode(tampered))
                .is_err()
        );
        assert!(SecretKey::from_base64("c2hvcnQ=").is_err());
    }
}
