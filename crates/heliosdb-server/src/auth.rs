//! Users and passwords.
//!
//! Either one user, `heliosdb`, whose password comes from the environment variable
//! `HELIOSDB_PASSWORD` when the server starts (as the postgres image does), or the users
//! of a users file (`[server] users_file`, see [`crate::users`]). Either way the server
//! holds only SCRAM-SHA-256 verifiers (salt, iteration count, StoredKey, ServerKey, as
//! PostgreSQL keeps them): PostgreSQL clients authenticate with SCRAM against them, and an
//! HTTP client's password is checked by deriving the same verifier from it. A verifier
//! cannot be turned back into the password, and nothing here is ever logged.
//!
//! A users file is read again by [`Auth::reload`] (the server calls it on SIGHUP and when
//! the file's modification time or size changes): sessions already open stay, new logins
//! use the new file, and a file that no longer reads keeps the users before in force.

use crate::users::{self, Verifier};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::SystemTime;

/// The user name clients log in as when the password comes from the environment.
pub const USER: &str = "heliosdb";

/// The environment variable that holds the password.
pub const PASSWORD_ENV: &str = "HELIOSDB_PASSWORD";

/// SCRAM-SHA-256 iteration count (PostgreSQL's default).
pub const SCRAM_ITERATIONS: usize = 4096;

/// Most HTTP passwords remembered as checked (see [`Auth::check`]).
const CHECKED_LIMIT: usize = 1024;

/// Who may connect.
pub struct Auth {
    /// `None`: no password, every client is let in (loopback only).
    users: RwLock<Option<HashMap<String, Verifier>>>,
    /// The users file the users came from, and its modification time and size when it
    /// was last read (to notice a change).
    file: Option<(PathBuf, Mutex<Option<FileStamp>>)>,
    /// HTTP credentials already checked, as salted digests keyed by user: deriving a
    /// verifier costs thousands of hash rounds, too much for every request.
    checked: Mutex<HashMap<String, [u8; 32]>>,
    /// This process's salt for `checked` (never written anywhere).
    checked_salt: [u8; 16],
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("password_required", &self.required())
            .field("users", &self.user_names().len())
            .finish()
    }
}

/// A file's modification time and size.
type FileStamp = (SystemTime, u64);

/// Modification time and size of a file, to notice that it changed.
fn file_stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The users of a users file; a file without users is refused (nobody could log in).
fn read_users(path: &Path) -> Result<HashMap<String, Verifier>, String> {
    let users = users::read(path)?;
    if users.is_empty() {
        return Err(format!(
            "{}: no users; add one with: heliosdb-lite passwd {} USER",
            path.display(),
            path.display()
        ));
    }
    Ok(users.into_iter().collect())
}

/// Compares without an early exit, so the time taken does not tell how much matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    fn with_users(users: Option<HashMap<String, Verifier>>) -> Self {
        Auth {
            users: RwLock::new(users),
            file: None,
            checked: Mutex::new(HashMap::new()),
            checked_salt: rand::random(),
        }
    }

    /// Authentication with `password` for the user `heliosdb` (`None` or empty: no
    /// password, every client is let in).
    pub fn new(password: Option<&str>) -> Self {
        let users = password
            .filter(|p| !p.is_empty())
            .map(|p| HashMap::from([(USER.to_string(), Verifier::derive(p, SCRAM_ITERATIONS))]));
        Self::with_users(users)
    }

    /// Authentication with the password in `HELIOSDB_PASSWORD`, if set.
    pub fn from_env() -> Self {
        let password = std::env::var(PASSWORD_ENV).ok();
        Self::new(password.as_deref())
    }

    /// Authentication as `[server]` asks: the users of `users_file` when it is set (then
    /// `HELIOSDB_PASSWORD` is ignored, with a warning), else the password in
    /// `HELIOSDB_PASSWORD`.
    pub fn for_server(server: &heliosdb_lite::config::ServerConfig) -> Result<Self, String> {
        match &server.users_file {
            Some(file) => {
                if std::env::var_os(PASSWORD_ENV).is_some() {
                    tracing::warn!("{PASSWORD_ENV} is ignored: server.users_file names the users");
                }
                Self::from_users_file(file)
            }
            None => Ok(Self::from_env()),
        }
    }

    /// The users of a users file; an error names the file and line of what is wrong, and
    /// a file without users is refused (nobody could log in).
    pub fn from_users_file(path: &Path) -> Result<Self, String> {
        let stamp = file_stamp(path);
        let users = read_users(path)?;
        let mut auth = Self::with_users(Some(users));
        auth.file = Some((path.to_path_buf(), Mutex::new(stamp)));
        Ok(auth)
    }

    /// The users file, when the users come from one.
    pub fn users_file(&self) -> Option<&Path> {
        self.file.as_ref().map(|(p, _)| p.as_path())
    }

    /// Reads the users file again and, if it reads, puts its users in force (logins from
    /// now on use them; remembered HTTP passwords are forgotten). Returns how many users
    /// it has; on an error the users before stay. Without a users file there is nothing
    /// to do (`Ok(None)`).
    pub fn reload(&self) -> Result<Option<usize>, String> {
        let Some((path, stamp)) = &self.file else {
            return Ok(None);
        };
        *stamp.lock().unwrap_or_else(|e| e.into_inner()) = file_stamp(path);
        let users = read_users(path)?;
        let count = users.len();
        *self.users.write().unwrap_or_else(|e| e.into_inner()) = Some(users);
        self.checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(Some(count))
    }

    /// [`Auth::reload`] when the users file's modification time or size differ from when
    /// it was last read (`Ok(None)` when they do not).
    pub fn reload_if_changed(&self) -> Result<Option<usize>, String> {
        let Some((path, stamp)) = &self.file else {
            return Ok(None);
        };
        let now = file_stamp(path);
        if *stamp.lock().unwrap_or_else(|e| e.into_inner()) == now {
            return Ok(None);
        }
        self.reload()
    }

    /// True when clients must give a password.
    pub fn required(&self) -> bool {
        self.users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// True when `user` may log in (every name when no password is required).
    pub fn knows(&self, user: &str) -> bool {
        self.users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_none_or(|u| u.contains_key(user))
    }

    /// The names of the users, sorted (for messages).
    pub fn user_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|u| u.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The SCRAM verifier of `user`, if there is such a user.
    pub fn verifier(&self, user: &str) -> Option<Verifier> {
        self.users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()?
            .get(user)
            .cloned()
    }

    fn checked_digest(&self, user: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.checked_salt);
        h.update(user.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// Checks a user name and password.
    pub fn check(&self, user: &str, password: &str) -> bool {
        if !self.required() {
            return true;
        }
        let Some(verifier) = self.verifier(user) else {
            return false;
        };
        let digest = self.checked_digest(user, password);
        let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        if checked.get(user).is_some_and(|d| same(d, &digest)) {
            return true;
        }
        drop(checked);
        if !verifier.matches(password) {
            return false;
        }
        checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        if checked.len() >= CHECKED_LIMIT {
            checked.clear();
        }
        checked.insert(user.to_string(), digest);
        true
    }

    /// Checks an HTTP `Authorization` header: `Basic base64(user:password)`, or
    /// `Bearer password` for the user `heliosdb`.
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
        // The second time is answered from the checked digests.
        assert!(a.check_http(Some(&format!("Basic {basic}"))));
        assert!(a.check_http(Some("Bearer s3cret")));
        assert!(!a.check_http(Some("Bearer wrong")));
        assert!(!a.check_http(None));
        let other = base64::engine::general_purpose::STANDARD.encode("root:s3cret");
        assert!(!a.check_http(Some(&format!("Basic {other}"))));
        assert!(Auth::new(None).check_http(None));
        assert!(!format!("{a:?}").contains("s3cret"));
    }

    #[test]
    fn users_file_users() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users");
        users::set_password(&file, "alice", "wonder land").unwrap();
        users::set_password(&file, "bob", "builder").unwrap();
        let a = Auth::from_users_file(&file).unwrap();
        assert!(a.check("alice", "wonder land"));
        assert!(a.check("bob", "builder"));
        assert!(!a.check("bob", "wonder land"));
        assert!(!a.check("heliosdb", "builder"));
        assert!(a.knows("alice") && !a.knows("carol"));
        assert_eq!(a.user_names(), ["alice", "bob"]);
        std::fs::write(&file, "# nobody\n").unwrap();
        let e = Auth::from_users_file(&file).unwrap_err();
        assert!(e.contains("no users"), "{e}");
    }

    #[test]
    fn users_file_reloads_on_change_and_keeps_users_when_it_breaks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users");
        users::set_password(&file, "alice", "one").unwrap();
        let a = Auth::from_users_file(&file).unwrap();
        assert!(a.check("alice", "one"));
        assert_eq!(a.reload_if_changed(), Ok(None));
        // A new password and a new user (the size changes, whatever the clock).
        users::set_password(&file, "alice", "two").unwrap();
        users::set_password(&file, "bob", "three").unwrap();
        assert_eq!(a.reload_if_changed(), Ok(Some(2)));
        // The password remembered as checked is forgotten with the old file.
        assert!(!a.check("alice", "one"));
        assert!(a.check("alice", "two") && a.check("bob", "three"));
        // A broken file is reported and changes nothing.
        std::fs::write(&file, "alice:clear text\n").unwrap();
        let e = a.reload().unwrap_err();
        assert!(e.contains(":1:"), "{e}");
        assert!(a.check("alice", "two"));
        assert_eq!(Auth::new(Some("pw")).reload(), Ok(None));
    }
}
