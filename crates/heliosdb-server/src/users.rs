//! The users file (`[server] users_file`): one user a line, `NAME:VERIFIER`, where the
//! verifier is a SCRAM-SHA-256 verifier in PostgreSQL's own spelling,
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64), the form
//! `pg_authid.rolpassword` holds. Blank lines and lines starting with `#` are ignored.
//!
//! A verifier serves both protocols: SCRAM authenticates PostgreSQL clients against it
//! without the password, and an HTTP client's password is checked by deriving a verifier
//! from it with the same salt. Clear-text passwords are refused; `heliosdb-lite passwd
//! FILE USER` ([`set_password`]) writes the lines, so nobody writes a hash by hand.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use pgwire::api::auth::sasl::scram::{gen_salted_password, ScramSecret};
use std::io::Write;
use std::path::Path;

/// The prefix of a SCRAM-SHA-256 verifier.
const SCHEME: &str = "SCRAM-SHA-256$";

/// Fewest iterations accepted in a verifier (fewer would make guessing cheap).
const MIN_ITERATIONS: usize = 4096;

/// A user's SCRAM-SHA-256 verifier.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    salt: Vec<u8>,
    iterations: usize,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    fn from_salted(salt: Vec<u8>, salted_password: Vec<u8>, iterations: usize) -> Self {
        match ScramSecret::verifier_from_salted_password(salt, salted_password, iterations) {
            ScramSecret::Verifier {
                salt,
                iterations,
                stored_key,
                server_key,
            } => Verifier {
                salt,
                iterations,
                stored_key,
                server_key,
            },
            ScramSecret::SaltedPassword { .. } => {
                unreachable!("verifier_from_salted_password returns a verifier")
            }
        }
    }

    /// The verifier of `password` with a new random salt.
    pub fn derive(password: &str, iterations: usize) -> Self {
        let salt: [u8; 16] = rand::random();
        let salted = gen_salted_password(password, &salt, iterations);
        Self::from_salted(salt.to_vec(), salted, iterations)
    }

    /// True when `password` has this verifier.
    pub fn matches(&self, password: &str) -> bool {
        let salted = gen_salted_password(password, &self.salt, self.iterations);
        let other = Self::from_salted(self.salt.clone(), salted, self.iterations);
        let same = |a: &[u8], b: &[u8]| {
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
        };
        same(&other.stored_key, &self.stored_key) & same(&other.server_key, &self.server_key)
    }

    /// The secret pgwire's SCRAM exchange checks a client against.
    pub fn scram_secret(&self) -> ScramSecret {
        ScramSecret::Verifier {
            salt: self.salt.clone(),
            iterations: self.iterations,
            stored_key: self.stored_key.clone(),
            server_key: self.server_key.clone(),
        }
    }

    /// PostgreSQL's spelling of the verifier.
    pub fn to_text(&self) -> String {
        format!(
            "{SCHEME}{}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }

    /// Reads PostgreSQL's spelling; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(rest) = text.strip_prefix(SCHEME) else {
            return Err(
                "not a SCRAM-SHA-256 verifier (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:\
                 <ServerKey>); clear-text passwords are not accepted: write the line with \
                 heliosdb-lite passwd FILE USER"
                    .into(),
            );
        };
        let malformed = || "malformed SCRAM-SHA-256 verifier".to_string();
        let (params, keys) = rest.split_once('$').ok_or_else(malformed)?;
        let (iterations, salt) = params.split_once(':').ok_or_else(malformed)?;
        let (stored, server) = keys.split_once(':').ok_or_else(malformed)?;
        let iterations: usize = iterations
            .parse()
            .map_err(|_| format!("iteration count {iterations:?} is not a number"))?;
        if iterations < MIN_ITERATIONS {
            return Err(format!(
                "{iterations} iterations is too few; at least {MIN_ITERATIONS}"
            ));
        }
        let decode = |what: &str, b: &str| {
            STANDARD
                .decode(b)
                .map_err(|_| format!("the {what} is not base64"))
        };
        let v = Verifier {
            salt: decode("salt", salt)?,
            iterations,
            stored_key: decode("StoredKey", stored)?,
            server_key: decode("ServerKey", server)?,
        };
        if v.salt.is_empty() || v.stored_key.len() != 32 || v.server_key.len() != 32 {
            return Err("the salt is empty or a key is not 32 bytes".into());
        }
        Ok(v)
    }
}

/// Checks a user name: not empty, and no `:` or line break (they would break the file).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains([':', '\n', '\r']) || name.trim() != name {
        return Err(format!(
            "{name:?} is not a usable user name (no ':', line breaks or surrounding spaces)"
        ));
    }
    Ok(())
}

/// The users of a users file, in file order; an error names the file and line.
pub fn read(path: &Path) -> Result<Vec<(String, Verifier)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the users file {}: {e}", path.display()))?;
    parse_file(&text).map_err(|(line, why)| format!("{}:{line}: {why}", path.display()))
}

fn parse_file(text: &str) -> Result<Vec<(String, Verifier)>, (usize, String)> {
    let mut out: Vec<(String, Verifier)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, verifier) = line
            .split_once(':')
            .ok_or_else(|| (i + 1, "expected NAME:VERIFIER".to_string()))?;
        check_name(name).map_err(|e| (i + 1, e))?;
        if out.iter().any(|(n, _)| n == name) {
            return Err((i + 1, format!("user {name:?} appears twice")));
        }
        let v = Verifier::parse(verifier).map_err(|e| (i + 1, format!("user {name:?}: {e}")))?;
        out.push((name.to_string(), v));
    }
    Ok(out)
}

/// Adds `user` to the users file with `password`'s verifier, or replaces that user's
/// verifier; creates the file (readable by its owner only) when it does not exist. The
/// file is replaced in one step, so a server reading it never sees half of it.
pub fn set_password(path: &Path, user: &str, password: &str) -> Result<(), String> {
    check_name(user)?;
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    let existing = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "# heliosdb-lite users: NAME:SCRAM-SHA-256 verifier (heliosdb-lite passwd FILE USER)\n"
                .to_string()
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    parse_file(&existing).map_err(|(line, why)| format!("{}:{line}: {why}", path.display()))?;
    let entry = format!(
        "{user}:{}",
        Verifier::derive(password, crate::auth::SCRAM_ITERATIONS).to_text()
    );
    let mut replaced = false;
    let mut lines: Vec<String> = existing
        .lines()
        .map(|l| match l.trim().split_once(':') {
            Some((name, _)) if name == user && !l.trim().starts_with('#') => {
                replaced = true;
                entry.clone()
            }
            _ => l.to_string(),
        })
        .collect();
    if !replaced {
        lines.push(entry);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map_or("users".into(), |n| n.to_string_lossy())
    ));
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifiers_round_trip_and_check_passwords() {
        let v = Verifier::derive("pencil", 4096);
        let text = v.to_text();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"), "{text}");
        let back = Verifier::parse(&text).unwrap();
        assert_eq!(back, v);
        assert!(back.matches("pencil"));
        assert!(!back.matches("pencil "));
        assert!(!format!("{v:?}").contains(&text[20..30]));
    }

    #[test]
    fn bad_lines_are_refused_with_their_line() {
        let e = parse_file("# c\n\nalice:secret\n").unwrap_err();
        assert_eq!(e.0, 3);
        assert!(e.1.contains("clear-text"), "{}", e.1);
        let v = Verifier::derive("x", 4096).to_text();
        let e = parse_file(&format!("a:{v}\na:{v}\n")).unwrap_err();
        assert!(e.1.contains("twice"), "{}", e.1);
        let e = parse_file("a:SCRAM-SHA-256$100:c2FsdA==$AAAA:AAAA\n").unwrap_err();
        assert!(e.1.contains("too few"), "{}", e.1);
        assert!(parse_file("nocolon\n").is_err());
    }

    #[test]
    fn set_password_adds_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users");
        set_password(&file, "alice", "one").unwrap();
        set_password(&file, "bob", "two").unwrap();
        set_password(&file, "alice", "three").unwrap();
        let users = read(&file).unwrap();
        assert_eq!(users.len(), 2);
        assert!(users[0].1.matches("three") && users[1].1.matches("two"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("three") && text.starts_with('#'), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(set_password(&file, "a:b", "x").is_err());
        assert!(set_password(&file, "carol", "").is_err());
    }
}
