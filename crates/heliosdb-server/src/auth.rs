//! Users and passwords. One user, `heliosdb`, whose password comes from the environment
//! variable `HELIOSDB_PASSWORD` when the server starts (as the postgres image does). The
//! clear password is kept only long enough to derive two verifiers from it: the SCRAM
//! salted password the PostgreSQL side needs, and a salted SHA-256 digest for HTTP Basic
//! and bearer authentication. Neither can be turned back into the password, and neither is
//! ever logged.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The user name clients log in as.
pub const USER: &str = "heliosdb";

/// The environment variable that holds the password.
pub const PASSWORD_ENV: &str = "HELIOSDB_PASSWORD";

/// SCRAM-SHA-256 iteration count (PostgreSQL's default).
pub const SCRAM_ITERATIONS: usize = 4096;

/// The verifiers of the configured password; `None` inside [`Auth`] means no password.
struct Verifiers {
    scram_salt: Vec<u8>,
    scram_salted: Vec<u8>,
    http_salt: [u8; 16],
    http_digest: [u8; 32],
}

/// Who may connect.
pub struct Auth {
    verifiers: Option<Verifiers>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("password_required", &self.required())
            .finish()
    }
}

fn http_digest(salt: &[u8], password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(password.as_bytes());
    h.finalize().into()
}

/// Compares without an early exit, so the time taken does not tell how much matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// Authentication with `password` (`None`: no password, every client is let in).
    pub fn new(password: Option<&str>) -> Self {
        let verifiers = password.filter(|p| !p.is_empty()).map(|p| {
            let scram_salt: [u8; 16] = rand::random();
            let http_salt: [u8; 16] = rand::random();
            Verifiers {
                scram_salted: pgwire::api::auth::sasl::scram::gen_salted_password(
                    p,
                    &scram_salt,
                    SCRAM_ITERATIONS,
                ),
                scram_salt: scram_salt.to_vec(),
                http_salt,
                http_digest: http_digest(&http_salt, p),
            }
        });
        Auth { verifiers }
    }

    /// Authentication with the password in `HELIOSDB_PASSWORD`, if set.
    pub fn from_env() -> Self {
        let password = std::env::var(PASSWORD_ENV).ok();
        Self::new(password.as_deref())
    }

    /// True when clients must give a password.
    pub fn required(&self) -> bool {
        self.verifiers.is_some()
    }

    /// The SCRAM salt and salted password (when a password is configured).
    pub fn scram(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        self.verifiers
            .as_ref()
            .map(|v| (v.scram_salt.clone(), v.scram_salted.clone()))
    }

    /// Checks a user name and password.
    pub fn check(&self, user: &str, password: &str) -> bool {
        match &self.verifiers {
            None => true,
            Some(v) => user == USER && same(&http_digest(&v.http_salt, password), &v.http_digest),
        }
    }

    /// Checks an HTTP `Authorization` header: `Basic base64(heliosdb:password)` or
    /// `Bearer password`.
    pub fn check_http(&self, header: Option<&str>) -> bool {
        if !self.required() {
            return true;
        }
        let Some(h) = header else { return false };
        if let Some(token) = h.strip_prefix("Bearer ") {
            return self.check(USER, token.trim());
        }
        let Some(b64) = h.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(raw) else {
            return false;
        };
        match text.split_once(':') {
            Some((user, password)) => self.check(user, password),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_credentials() {
        let a = Auth::new(Some("s3cret"));
        let basic = base64::engine::general_purpose::STANDARD.encode("heliosdb:s3cret");
        assert!(a.check_http(Some(&format!("Basic {basic}"))));
        assert!(a.check_http(Some("Bearer s3cret")));
        assert!(!a.check_http(Some("Bearer wrong")));
        assert!(!a.check_http(None));
        let other = base64::engine::general_purpose::STANDARD.encode("root:s3cret");
        assert!(!a.check_http(Some(&format!("Basic {other}"))));
        assert!(Auth::new(None).check_http(None));
        assert!(!format!("{a:?}").contains("s3cret"));
    }
}
