//! What every request handler shares.

use crate::auth::AuthKeys;
use crate::service::Db;

pub struct AppState {
    pub db: Db,
    pub auth: AuthKeys,
}
