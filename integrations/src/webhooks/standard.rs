//! The Standard Webhooks scheme (<https://www.standardwebhooks.com/>), used for
//! every event Dingdan sends out.
//!
//! A message is signed as `base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))` and
//! sent in `webhook-signature` as space-separated `v1,<signature>` entries, one per
//! active secret, so that receivers keep verifying while a secret is rotated.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of a serialized secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a message's timestamp may be from the receiver's clock, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 5 * 60;
/// Bytes of randomness in a generated secret (the scheme allows 24 to 64).
const GENERATED_SECRET_BYTES: usize = 32;

/// A signing key. Displayed and parsed as `whsec_<base64>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("a webhook secret must be base64, optionally prefixed with `whsec_`")]
    NotBase64,
    #[error("a webhook secret must hold between 24 and 64 bytes")]
    BadLength,
}

impl Secret {
    /// A fresh random secret.
    pub fn generate() -> Self {
        let mut bytes = vec![0_u8; GENERATED_SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Parses `whsec_<base64>` or bare base64, as the reference libraries do.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let bytes = BASE64.decode(encoded).map_err(|_| SecretError::NotBase64)?;
        // The official vectors use 24-byte keys; refuse anything trivially short.
        if !(24..=64).contains(&bytes.len()) {
            return Err(SecretError::BadLength);
        }
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn mac(&self, msg_id: &str, timestamp: i64, payload: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        mac
    }

    /// The `v1,<base64>` signature of one message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, payload: &[u8]) -> String {
        let tag = self.mac(msg_id, timestamp, payload).finalize().into_bytes();
        format!("v1,{}", BASE64.encode(tag))
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SECRET_PREFIX}{}", BASE64.encode(&self.0))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the `{0}` header is missing")]
    MissingHeader(&'static str),
    #[error("the `webhook-timestamp` header is not a unix timestamp")]
    InvalidTimestamp,
    #[error("the message timestamp is too old")]
    TimestampTooOld,
    #[error("the message timestamp is too far in the future")]
    TimestampTooNew,
    #[error("no signature matches")]
    NoMatchingSignature,
}

/// Signs and verifies messages with one or more secrets (several while a secret
/// is being rotated: signing uses all of them, verifying accepts any of them).
#[derive(Clone, Debug)]
pub struct Webhook {
    secrets: Vec<Secret>,
    tolerance_secs: i64,
}

impl Webhook {
    pub fn new(secrets: Vec<Secret>) -> Self {
        Self {
            secrets,
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        }
    }

    pub fn with_tolerance(mut self, secs: i64) -> Self {
        self.tolerance_secs = secs;
        self
    }

    /// The value of the `webhook-signature` header: one `v1,` entry per secret.
    pub fn signature_header(&self, msg_id: &str, timestamp: i64, payload: &[u8]) -> String {
        self.secrets
            .iter()
            .map(|secret| secret.sign(msg_id, timestamp, payload))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Verifies a received message at time `now` (unix seconds). `signature` is the
    /// `webhook-signature` header; entries of other versions than `v1` are ignored.
    pub fn verify(
        &self,
        msg_id: Option<&str>,
        timestamp: Option<&str>,
        signature: Option<&str>,
        payload: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let msg_id = msg_id.ok_or(VerifyError::MissingHeader("webhook-id"))?;
        let timestamp = timestamp.ok_or(VerifyError::MissingHeader("webhook-timestamp"))?;
        let signature = signature.ok_or(VerifyError::MissingHeader("webhook-signature"))?;
        let timestamp: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| VerifyError::InvalidTimestamp)?;
        if timestamp < now - self.tolerance_secs {
            return Err(VerifyError::TimestampTooOld);
        }
        if timestamp > now + self.tolerance_secs {
            return Err(VerifyError::TimestampTooNew);
        }
        let candidates: Vec<Vec<u8>> = signature
            .split_whitespace()
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(|encoded| BASE64.decode(encoded).ok())
            .collect();
        for secret in &self.secrets {
            for candidate in &candidates {
                // `verify_slice` compares in constant time.
                if secret
                    .mac(msg_id, timestamp, payload)
                    .verify_slice(candidate)
                    .is_ok()
                {
                    return Ok(());
                }
            }
        }
        Err(VerifyError::NoMatchingSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/standard-webhooks"
    );

    fn fixture(name: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture file");
        serde_json::from_str(&text).expect("fixture JSON")
    }

    fn check_vector(vector: &serde_json::Value) {
        let secret = Secret::parse(vector["secret"].as_str().unwrap()).unwrap();
        let id = vector["id"].as_str().unwrap();
        let timestamp = vector["timestamp"].as_i64().unwrap();
        let payload = vector["payload"].as_str().unwrap().as_bytes();
        let expected = vector["signature"].as_str().unwrap();
        assert_eq!(secret.sign(id, timestamp, payload), expected);
        let hook = Webhook::new(vec![secret]);
        let ts = timestamp.to_string();
        assert_eq!(
            hook.verify(Some(id), Some(&ts), Some(expected), payload, timestamp),
            Ok(())
        );
    }

    #[test]
    fn official_signature_vectors_sign_and_verify() {
        let vectors = fixture("signatures.json");
        let vectors = vectors.as_array().unwrap();
        assert!(!vectors.is_empty());
        vectors.iter().for_each(check_vector);
        let library = fixture("library-test-vectors.derived.json");
        let vectors = library["vectors"].as_array().unwrap();
        assert_eq!(vectors.len(), 2);
        vectors.iter().for_each(check_vector);
    }

    #[test]
    fn official_negative_vector_with_only_wrong_signatures_fails() {
        let library = fixture("library-test-vectors.derived.json");
        let positive = &library["vectors"][1];
        for negative in library["negative_examples"].as_array().unwrap() {
            assert_eq!(negative["expect"], "invalid");
            let secret = Secret::parse(negative["secret"].as_str().unwrap()).unwrap();
            let id = negative["id"].as_str().unwrap();
            let payload = negative["payload"].as_str().unwrap().as_bytes();
            let ts = positive["timestamp"].as_i64().unwrap();
            let header = negative["webhook-signature"].as_str().unwrap();
            let hook = Webhook::new(vec![secret.clone()]);
            assert_eq!(
                hook.verify(Some(id), Some(&ts.to_string()), Some(header), payload, ts),
                Err(VerifyError::NoMatchingSignature)
            );
            // The same header plus the right signature passes: any match is enough.
            let good = format!("{header} {}", positive["signature"].as_str().unwrap());
            assert_eq!(
                hook.verify(Some(id), Some(&ts.to_string()), Some(&good), payload, ts),
                Ok(())
            );
        }
    }

    #[test]
    fn generated_secrets_round_trip_through_text() {
        let secret = Secret::generate();
        let text = secret.to_string();
        assert!(text.starts_with("whsec_"));
        assert_eq!(Secret::parse(&text), Ok(secret));
    }

    #[test]
    fn short_or_garbled_secrets_are_refused() {
        assert_eq!(Secret::parse("whsec_!!!"), Err(SecretError::NotBase64));
        assert_eq!(Secret::parse("whsec_c2hvcnQ="), Err(SecretError::BadLength));
    }

    #[test]
    fn tampered_payload_and_stale_timestamps_fail() {
        let hook = Webhook::new(vec![Secret::generate()]);
        let header = hook.signature_header("msg_1", 1_000, b"{}");
        assert_eq!(
            hook.verify(Some("msg_1"), Some("1000"), Some(&header), b"{}", 1_000),
            Ok(())
        );
        assert_eq!(
            hook.verify(Some("msg_1"), Some("1000"), Some(&header), b"{ }", 1_000),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            hook.verify(Some("msg_2"), Some("1000"), Some(&header), b"{}", 1_000),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            hook.verify(Some("msg_1"), Some("1000"), Some(&header), b"{}", 1_301),
            Err(VerifyError::TimestampTooOld)
        );
        assert_eq!(
            hook.verify(Some("msg_1"), Some("1000"), Some(&header), b"{}", 699),
            Err(VerifyError::TimestampTooNew)
        );
        assert_eq!(
            hook.verify(Some("msg_1"), Some("x"), Some(&header), b"{}", 1_000),
            Err(VerifyError::InvalidTimestamp)
        );
        assert_eq!(
            hook.verify(None, Some("1000"), Some(&header), b"{}", 1_000),
            Err(VerifyError::MissingHeader("webhook-id"))
        );
    }

    #[test]
    fn rotation_signs_with_every_secret_and_verifies_with_either() {
        let old = Secret::generate();
        let new = Secret::generate();
        let both = Webhook::new(vec![new.clone(), old.clone()]);
        let header = both.signature_header("msg_r", 50, b"body");
        assert_eq!(header.split(' ').count(), 2);
        for only in [old, new] {
            let receiver = Webhook::new(vec![only]);
            assert_eq!(
                receiver.verify(Some("msg_r"), Some("50"), Some(&header), b"body", 50),
                Ok(())
            );
        }
    }
}
