//! Configuration from environment variables (and, optionally, a file of
//! `KEY=VALUE` lines named by `DINGDAN_CONFIG`; the environment wins).
//!
//! Every problem names the variable at fault, and is reported at start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::RngCore as _;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://dingdan.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub bind: SocketAddr,
    pub jwt: JwtSettings,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    pub db_max_connections: u32,
    /// HTTP worker threads; the number of cores when unset.
    pub workers: Option<usize>,
    /// Background job workers `serve` runs beside HTTP (0: none, leave the
    /// jobs to `dingdan worker` processes).
    pub job_workers: usize,
    pub log_filter: String,
    pub log_json: bool,
    /// Days added to the longest lead time when promising a delivery date.
    pub handling_days: u32,
    /// The business's offset from UTC (`+08:00` for China).
    pub utc_offset: chrono::FixedOffset,
    /// How long a claimed job is its worker's before others may retake it.
    pub job_lease: std::time::Duration,
    pub webhooks: crate::service::WebhookConfig,
    pub smtp: Option<crate::service::SmtpConfig>,
    pub secret_key: Option<crate::service::secrets::SecretKey>,
    /// Internal networks marketplace connectors may call (an on-premises
    /// WooCommerce, local test doubles); plain http only to these.
    pub connector_networks: Vec<ipnet::IpNet>,
}

impl Settings {
    /// What the services apply.
    pub fn service_config(&self) -> crate::service::ServiceConfig {
        crate::service::ServiceConfig {
            handling_days: self.handling_days,
            utc_offset: self.utc_offset,
            job_lease: self.job_lease,
            webhooks: self.webhooks.clone(),
            smtp: self.smtp.clone(),
            secret_key: self.secret_key.clone(),
            connector_networks: self.connector_networks.clone(),
        }
    }
}

#[derive(Clone)]
pub struct JwtSettings {
    pub hs256_secret: Option<Vec<u8>>,
    pub rs256_public_pem: Option<Vec<u8>>,
    pub issuer: String,
    pub audience: String,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("hs256_secret", &self.hs256_secret.as_ref().map(|_| "***"))
            .field("rs256_public_pem", &self.rs256_public_pem.is_some())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn invalid(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

impl Settings {
    /// Reads the process environment (and `DINGDAN_CONFIG`, if set).
    pub fn from_env() -> Result<Self, ConfigError> {
        let file = match std::env::var("DINGDAN_CONFIG") {
            Ok(path) => read_config_file(Path::new(&path))?,
            Err(_) => HashMap::new(),
        };
        Self::load(&|key| std::env::var(key).ok().or_else(|| file.get(key).cloned()))
    }

    /// Builds settings from a lookup of variables.
    pub fn load(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let sqlite_file = sqlite_file(&database_url)?;

        let bind_text = get("DINGDAN_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_text.parse().map_err(|_| {
            invalid(
                "DINGDAN_BIND",
                format!("{bind_text:?} is not an address like 127.0.0.1:8080"),
            )
        })?;

        let rs256_public_pem = match get("DINGDAN_JWT_PUBLIC_KEY") {
            None => None,
            Some(value) if value.starts_with("-----BEGIN") => Some(value.into_bytes()),
            Some(path) => Some(std::fs::read(&path).map_err(|e| {
                invalid(
                    "DINGDAN_JWT_PUBLIC_KEY",
                    format!("neither a PEM key nor a readable file ({path}: {e})"),
                )
            })?),
        };
        let hs256_secret = match get("DINGDAN_JWT_SECRET") {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return Err(invalid(
                    "DINGDAN_JWT_SECRET",
                    format!("must be at least {MIN_SECRET_BYTES} bytes long"),
                ));
            }
            Some(secret) => Some(secret.into_bytes()),
            // With SQLite, Dingdan can always issue its own tokens (beside an
            // identity provider's, when one is configured).
            None => match &sqlite_file {
                Some(SqliteLocation::File(path)) => Some(secret_beside(path)?),
                Some(SqliteLocation::Memory) => Some(random_secret()),
                None if rs256_public_pem.is_some() => None,
                None => {
                    return Err(invalid(
                        "DINGDAN_JWT_SECRET",
                        "required when DATABASE_URL is not a SQLite file (or set DINGDAN_JWT_PUBLIC_KEY)",
                    ));
                }
            },
        };
        let jwt = JwtSettings {
            hs256_secret,
            rs256_public_pem,
            issuer: get("DINGDAN_JWT_ISSUER").unwrap_or_else(|| "dingdan".to_owned()),
            audience: get("DINGDAN_JWT_AUDIENCE").unwrap_or_else(|| "dingdan".to_owned()),
        };

        let max_body_bytes = number(
            &get,
            "DINGDAN_MAX_BODY_BYTES",
            1024 * 1024,
            1024..=1024 * 1024 * 1024,
        )?;
        let db_max_connections = number(&get, "DINGDAN_DB_MAX_CONNECTIONS", 10, 1..=1000)?;
        let workers = match get("DINGDAN_WORKERS") {
            None => None,
            Some(_) => Some(number(&get, "DINGDAN_WORKERS", 1, 1..=1024)?),
        };
        let job_workers = number(&get, "DINGDAN_JOB_WORKERS", 1, 0..=64)?;
        let (log_variable, log_filter) = match (get("DINGDAN_LOG"), get("RUST_LOG")) {
            (Some(filter), _) => ("DINGDAN_LOG", filter),
            (None, Some(filter)) => ("RUST_LOG", filter),
            (None, None) => ("DINGDAN_LOG", "info".to_owned()),
        };
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            return Err(invalid(
                log_variable,
                format!("{log_filter:?} is not a log filter: {e}"),
            ));
        }
        let log_json = match get("DINGDAN_LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(invalid(
                    "DINGDAN_LOG_FORMAT",
                    format!("{other:?} is neither `text` nor `json`"),
                ));
            }
        };
        let handling_days = number(&get, "DINGDAN_HANDLING_DAYS", 1, 0..=365)?;
        let offset_text = get("DINGDAN_UTC_OFFSET").unwrap_or_else(|| "+00:00".to_owned());
        let utc_offset: chrono::FixedOffset = offset_text.parse().map_err(|_| {
            invalid(
                "DINGDAN_UTC_OFFSET",
                format!("{offset_text:?} is not an offset like +08:00"),
            )
        })?;
        let job_lease = std::time::Duration::from_secs(number(
            &get,
            "DINGDAN_JOB_LEASE_SECONDS",
            300,
            1..=86_400,
        )?);
        let allow_http = match get("DINGDAN_WEBHOOK_ALLOW_HTTP").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(invalid(
                    "DINGDAN_WEBHOOK_ALLOW_HTTP",
                    format!("{other:?} is neither `true` nor `false`"),
                ));
            }
        };
        let allowed_networks = networks(&get, "DINGDAN_WEBHOOK_ALLOWED_NETWORKS")?;
        let connector_networks = networks(&get, "DINGDAN_CONNECTOR_ALLOWED_NETWORKS")?;
        let webhooks = crate::service::WebhookConfig {
            allow_http,
            allowed_networks,
            secret_overlap: std::time::Duration::from_secs(
                3600 * number(
                    &get,
                    "DINGDAN_WEBHOOK_SECRET_OVERLAP_HOURS",
                    24,
                    0..=24 * 30,
                )?,
            ),
            timeout: std::time::Duration::from_secs(number(
                &get,
                "DINGDAN_WEBHOOK_TIMEOUT_SECONDS",
                15,
                1..=60,
            )?),
        };
        let smtp = match get("DINGDAN_SMTP_URL") {
            None => None,
            Some(url) => {
                if let Err(e) = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url)
                {
                    return Err(invalid("DINGDAN_SMTP_URL", format!("not an SMTP URL: {e}")));
                }
                let from = get("DINGDAN_SMTP_FROM")
                    .unwrap_or_else(|| "Dingdan <no-reply@localhost>".to_owned());
                if from.parse::<lettre::message::Mailbox>().is_err() {
                    return Err(invalid(
                        "DINGDAN_SMTP_FROM",
                        format!("{from:?} is not a mailbox like `Shop <orders@example.com>`"),
                    ));
                }
                Some(crate::service::SmtpConfig { url, from })
            }
        };
        let secret_key = match get("DINGDAN_SECRET_KEY") {
            None => None,
            Some(text) => Some(
                crate::service::secrets::SecretKey::from_base64(&text)
                    .map_err(|e| invalid("DINGDAN_SECRET_KEY", e))?,
            ),
        };
        Ok(Self {
            connector_networks,
            secret_key,
            smtp,
            job_lease,
            webhooks,
            handling_days,
            utc_offset,
            database_url,
            bind,
            jwt,
            max_body_bytes,
            db_max_connections,
            workers,
            job_workers,
            log_filter,
            log_json,
        })
    }
}

/// A comma-separated list of networks (`10.0.0.0/8`) or addresses.
fn networks(
    get: &dyn Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    get(variable)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    invalid(
                        variable,
                        format!("{item:?} is not a network like 10.0.0.0/8 or an address"),
                    )
                })
        })
        .collect()
}

fn number<T>(
    get: &dyn Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(text) = get(variable) else {
        return Ok(default);
    };
    let value: T = text
        .parse()
        .map_err(|_| invalid(variable, format!("{text:?} is not a whole number")))?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            variable,
            format!("must be between {} and {}", range.start(), range.end()),
        ))
    }
}

enum SqliteLocation {
    File(PathBuf),
    Memory,
}

/// Where a SQLite URL points, or `None` for another database.
fn sqlite_file(url: &str) -> Result<Option<SqliteLocation>, ConfigError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(None);
    }
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Err(invalid(
            "DATABASE_URL",
            "must start with sqlite: (embedded) or postgres:// (production)",
        ));
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return Ok(Some(SqliteLocation::Memory));
    }
    Ok(Some(SqliteLocation::File(PathBuf::from(path))))
}

fn random_secret() -> Vec<u8> {
    let mut bytes = [0_u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .into_bytes()
}

/// The secret kept beside a SQLite file, created (mode 0600) on first use, so
/// that `dingdan serve` and `dingdan token` agree with nothing configured.
///
/// It is written to a temporary file and linked into place, so a reader never
/// sees it half-written and two first starts cannot both create it.
fn secret_beside(db: &Path) -> Result<Vec<u8>, ConfigError> {
    let mut name = db.as_os_str().to_owned();
    name.push(".jwt-secret");
    let path = PathBuf::from(name);
    let fail = |e: std::io::Error| {
        invalid(
            "DINGDAN_JWT_SECRET",
            format!(
                "not set, and the generated secret at {} cannot be used: {e}",
                path.display()
            ),
        )
    };
    // The directory must exist: a typo in DATABASE_URL must not quietly create
    // a new, empty database somewhere else.
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(invalid(
            "DATABASE_URL",
            format!(
                "the directory {} of the SQLite file does not exist",
                dir.display()
            ),
        ));
    }
    if !path.exists() {
        let secret = random_secret();
        let mut temporary = path.clone().into_os_string();
        temporary.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
        let temporary = PathBuf::from(temporary);
        let written = create_private(&temporary).and_then(|mut file| {
            use std::io::Write as _;
            file.write_all(&secret)?;
            file.sync_all()
        });
        let linked = written.and_then(|()| std::fs::hard_link(&temporary, &path));
        let _ = std::fs::remove_file(&temporary);
        match linked {
            Ok(()) => return Ok(secret),
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(e)),
        }
    }
    check_private(&path).map_err(|message| invalid("DINGDAN_JWT_SECRET", message))?;
    let stored = std::fs::read(&path).map_err(fail)?;
    let stored = String::from_utf8_lossy(&stored).trim().as_bytes().to_vec();
    if stored.len() < MIN_SECRET_BYTES {
        return Err(fail(std::io::Error::other(
            "the file holds fewer than 32 bytes",
        )));
    }
    Ok(stored)
}

/// Refuses a secret file that others may read, as ssh does with keys.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "{} is readable by other users (mode {:o}); run `chmod 600` on it",
            path.display(),
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

fn read_config_file(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        invalid(
            "DINGDAN_CONFIG",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let mut values = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| {
            invalid(
                "DINGDAN_CONFIG",
                format!("{}:{}: expected KEY=VALUE", path.display(), number + 1),
            )
        })?;
        let value = value.trim().trim_matches('"');
        values.insert(key.trim().to_owned(), value.to_owned());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(&|key| vars.get(key).cloned())
    }

    #[test]
    fn errors_name_the_variable() {
        let err = load(&[
            ("DATABASE_URL", "sqlite::memory:"),
            ("DINGDAN_BIND", "nowhere"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "DINGDAN_BIND");
        let err = load(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        let err = load(&[("DATABASE_URL", "postgres://localhost/x")]).unwrap_err();
        assert_eq!(err.variable, "DINGDAN_JWT_SECRET");
        let err = load(&[
            ("DATABASE_URL", "sqlite::memory:"),
            ("DINGDAN_JWT_SECRET", "short"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "DINGDAN_JWT_SECRET");
        let err = load(&[
            ("DATABASE_URL", "sqlite::memory:"),
            ("DINGDAN_MAX_BODY_BYTES", "lots"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "DINGDAN_MAX_BODY_BYTES");
        let err = load(&[
            ("DATABASE_URL", "sqlite::memory:"),
            ("DINGDAN_LOG_FORMAT", "xml"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "DINGDAN_LOG_FORMAT");
    }

    #[test]
    fn a_sqlite_file_gets_a_private_secret_that_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/orders.db", dir.path().display());
        let first = load(&[("DATABASE_URL", &url)]).unwrap();
        let second = load(&[("DATABASE_URL", &url)]).unwrap();
        assert_eq!(first.jwt.hs256_secret, second.jwt.hs256_secret);
        let path = dir.path().join("orders.db.jwt-secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
