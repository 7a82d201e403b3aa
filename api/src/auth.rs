//! Bearer tokens: issuing (for `dingdan token`) and verifying (for every request).
//!
//! Tokens are JWTs signed with HS256 (Dingdan's own secret) or RS256 (an external
//! identity provider's key). Verification pins the algorithm to the configured
//! key, and requires `exp`, `iss` and `aud`.

use std::time::Duration;

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::actor::{Actor, Role};
use crate::settings::JwtSettings;

/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// The claims Dingdan reads and writes.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Set on partner tokens: the one customer whose data the token may see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
}

/// Why a token was refused. The message is safe to show to the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("send `Authorization: Bearer <token>`")]
    Missing,
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("the token has expired")]
    Expired,
    #[error(
        "the token's issuer or audience is not this server's (expected `iss` and `aud` as configured, `dingdan` by default)"
    )]
    WrongIssuerOrAudience,
    #[error("the token is signed with an algorithm this server does not accept")]
    WrongAlgorithm,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

/// The configured keys.
#[derive(Clone)]
pub struct AuthKeys {
    hs256: Option<(EncodingKey, DecodingKey)>,
    rs256: Option<DecodingKey>,
    issuer: String,
    audience: String,
}

impl AuthKeys {
    pub fn new(settings: &JwtSettings) -> anyhow::Result<Self> {
        let hs256 = settings.hs256_secret.as_ref().map(|secret| {
            (
                EncodingKey::from_secret(secret),
                DecodingKey::from_secret(secret),
            )
        });
        let rs256 = match &settings.rs256_public_pem {
            Some(pem) => Some(DecodingKey::from_rsa_pem(pem).map_err(|e| {
                anyhow::anyhow!("DINGDAN_JWT_PUBLIC_KEY is not an RSA public key in PEM form: {e}")
            })?),
            None => None,
        };
        Ok(Self {
            hs256,
            rs256,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        })
    }

    /// Signs a token with the HS256 secret.
    pub fn issue(
        &self,
        sub: &str,
        roles: &[Role],
        customer_id: Option<Uuid>,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let Some((key, _)) = &self.hs256 else {
            anyhow::bail!(
                "DINGDAN_JWT_SECRET is not set: this server only verifies tokens of an external identity provider"
            );
        };
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: sub.to_owned(),
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            customer_id,
            exp: now.saturating_add(ttl),
            iat: now,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        Ok(encode(&Header::new(Algorithm::HS256), &claims, key)?)
    }

    /// Checks an `Authorization` header value and returns who is calling.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Actor, AuthError> {
        self.verify_header_until(header).map(|(actor, _)| actor)
    }

    /// Like [`Self::verify_header`], with the moment the token stops being
    /// accepted (its `exp` plus the clock leeway), for long-lived
    /// connections that must end with their token.
    pub fn verify_header_until(
        &self,
        header: Option<&str>,
    ) -> Result<(Actor, chrono::DateTime<chrono::Utc>), AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Malformed);
        }
        self.decode(token.trim())
    }

    pub fn verify(&self, token: &str) -> Result<Actor, AuthError> {
        self.decode(token).map(|(actor, _)| actor)
    }

    fn decode(&self, token: &str) -> Result<(Actor, chrono::DateTime<chrono::Utc>), AuthError> {
        let header = decode_header(token).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::Invalid(
                match e.kind() {
                    ErrorKind::InvalidToken => {
                        "not a JWT (three base64url parts separated by dots)"
                    }
                    _ => {
                        "its header is malformed or names an algorithm this server does not accept"
                    }
                }
                .to_owned(),
            )
        })?;
        // The key decides the algorithm, never the token: an HS256 token is only
        // checked against the secret and an RS256 one against the public key.
        let key = match header.alg {
            Algorithm::HS256 => self.hs256.as_ref().map(|(_, key)| key),
            Algorithm::RS256 => self.rs256.as_ref(),
            _ => None,
        }
        .ok_or(AuthError::WrongAlgorithm)?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let data = decode::<TokenClaims>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                    AuthError::WrongIssuerOrAudience
                }
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::InvalidAlgorithm => AuthError::WrongAlgorithm,
                ErrorKind::MissingRequiredClaim(claim) => {
                    AuthError::Invalid(format!("it lacks the `{claim}` claim"))
                }
                ErrorKind::ImmatureSignature => {
                    AuthError::Invalid("it is not valid yet (`nbf`)".to_owned())
                }
                ErrorKind::InvalidClaimFormat(claim) => {
                    AuthError::Invalid(format!("its `{claim}` claim has the wrong type"))
                }
                _ => AuthError::Invalid("its claims are malformed".to_owned()),
            }
        })?;
        let claims = data.claims;
        // Roles this server does not know grant nothing; they are not an error,
        // so an identity provider may carry roles for other systems.
        let mut roles: Vec<Role> = claims.roles.iter().filter_map(|r| r.parse().ok()).collect();
        roles.sort();
        roles.dedup();
        let until = chrono::DateTime::from_timestamp(
            claims
                .exp
                .saturating_add(i64::try_from(LEEWAY_SECS).unwrap_or(0)),
            0,
        )
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        Ok((
            Actor {
                sub: claims.sub,
                roles,
                customer_id: claims.customer_id,
            },
            until,
        ))
    }
}

/// What verification reads; `aud` may be a string or an array, and is checked
/// by `jsonwebtoken` itself.
#[derive(Deserialize)]
struct TokenClaims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    customer_id: Option<Uuid>,
    /// Required (checked by `jsonwebtoken`); kept to end long-lived
    /// connections when the token expires.
    exp: i64,
}

/// Parses a duration such as `90s`, `15m`, `1h`, `7d` or a bare number of seconds.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 15m, 1h or 7d"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} has an unknown unit; use s, m, h or d")),
    };
    if amount == 0 {
        return Err("a token's lifetime must be positive".to_owned());
    }
    amount
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> AuthKeys {
        AuthKeys::new(&JwtSettings {
            hs256_secret: Some(b"0123456789abcdef0123456789abcdef".to_vec()),
            rs256_public_pem: None,
            issuer: "dingdan".into(),
            audience: "dingdan".into(),
        })
        .unwrap()
    }

    #[test]
    fn issued_tokens_verify_with_their_roles_and_customer() {
        let keys = keys();
        let customer = Uuid::now_v7();
        let token = keys
            .issue(
                "erp",
                &[Role::Sales],
                Some(customer),
                Duration::from_secs(60),
            )
            .unwrap();
        let actor = keys
            .verify_header(Some(&format!("Bearer {token}")))
            .unwrap();
        assert_eq!(actor.sub, "erp");
        assert_eq!(actor.roles, vec![Role::Sales]);
        assert_eq!(actor.customer_id, Some(customer));
    }

    #[test]
    fn tokens_for_another_audience_or_with_another_secret_fail() {
        let keys = keys();
        let other = AuthKeys::new(&JwtSettings {
            hs256_secret: Some(b"another-secret-another-secret-32".to_vec()),
            rs256_public_pem: None,
            issuer: "dingdan".into(),
            audience: "someone-else".into(),
        })
        .unwrap();
        let token = other
            .issue("x", &[Role::Admin], None, Duration::from_secs(60))
            .unwrap();
        assert_eq!(keys.verify(&token), Err(AuthError::BadSignature));
        assert_eq!(
            keys.verify_header(Some("Basic abc")),
            Err(AuthError::Malformed)
        );
        assert_eq!(keys.verify_header(None), Err(AuthError::Missing));
    }

    #[test]
    fn ttl_parses_common_units() {
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("h").is_err());
    }
}
