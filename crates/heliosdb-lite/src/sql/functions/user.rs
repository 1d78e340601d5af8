//! Application-defined scalar functions ([`crate::Connection::create_scalar_function`]),
//! as SQLite's `sqlite3_create_function`: a name, a fixed argument count or any, a
//! deterministic flag, and a Rust closure.
//!
//! A connection owns its [`UserFunctions`]; the planner resolves a call by name and argument
//! count (an exact count first, then a registration for any count), and the plan keeps only
//! the [`UserFnId`], so replacing a function's closure reaches plans already cached and
//! removing it makes them fail with "no such function" when they run. Functions are looked
//! up before the built-in ones (an application may override `lower()`, as in SQLite), but
//! never in stored expressions (generated columns, index expressions, CHECK, DEFAULT): those
//! are bound without the connection, so the database stays readable without the
//! application.
//!
//! A deterministic function is called once per distinct argument list in a statement
//! (later calls reuse the result); any other is called for every row.

use crate::error::{Error, Result};
use crate::sql::value::Value;
use std::cell::Cell;
use std::sync::{Arc, RwLock};

/// The closure behind a function.
pub type UserFnImpl = dyn Fn(&[Value]) -> Result<Value> + Send + Sync;

/// Most arguments a function may declare (SQLite's `SQLITE_MAX_FUNCTION_ARG`).
pub const MAX_ARGS: usize = 127;

/// Longest function name, in bytes (SQLite's limit).
const MAX_NAME_BYTES: usize = 255;

/// Which registration a planned call refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserFnId(u32);

/// One registration: a name and argument count, and the closure while it is registered.
struct Entry {
    /// The name, ASCII letters in lower case (names compare as in SQLite).
    name: String,
    /// `None`: any number of arguments.
    args: Option<usize>,
    deterministic: bool,
    /// `None` once removed (the slot stays so that ids in cached plans stay valid).
    func: Option<Arc<UserFnImpl>>,
}

/// A connection's application-defined functions.
#[derive(Default)]
pub struct UserFunctions {
    entries: RwLock<Vec<Entry>>,
}

impl std::fmt::Debug for UserFunctions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        f.debug_list()
            .entries(
                entries
                    .iter()
                    .filter(|e| e.func.is_some())
                    .map(|e| (&e.name, e.args)),
            )
            .finish()
    }
}

thread_local! {
    /// Calls of application-defined functions running on this thread: the connection
    /// refuses statements from inside one (its session is locked by the statement that
    /// called the function).
    static CALL_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// True while this thread runs an application-defined function.
pub fn in_user_function() -> bool {
    CALL_DEPTH.with(|d| d.get() > 0)
}

/// Checks a function's name and argument count (`None` for any).
fn check(name: &str, args: Option<usize>) -> Result<()> {
    if name.is_empty()
        || name.len() > MAX_NAME_BYTES
        || name.chars().any(|c| c.is_control() || c == '(' || c == ')')
    {
        return Err(Error::invalid(format!(
            "bad function name {name:?}: give 1 to {MAX_NAME_BYTES} bytes without \
             parentheses or control characters"
        )));
    }
    if args.is_some_and(|n| n > MAX_ARGS) {
        return Err(Error::invalid(format!(
            "a function takes at most {MAX_ARGS} arguments"
        )));
    }
    Ok(())
}

impl UserFunctions {
    /// Registers `func` as `name` with `args` arguments (`None`: any number), replacing a
    /// registration of the same name and count.
    pub fn register(
        &self,
        name: &str,
        args: Option<usize>,
        deterministic: bool,
        func: Arc<UserFnImpl>,
    ) -> Result<()> {
        check(name, args)?;
        let name = name.to_ascii_lowercase();
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= u32::MAX as usize {
            return Err(Error::invalid("too many function registrations"));
        }
        match entries
            .iter_mut()
            .find(|e| e.name == name && e.args == args)
        {
            Some(e) => {
                e.deterministic = deterministic;
                e.func = Some(func);
            }
            None => entries.push(Entry {
                name,
                args,
                deterministic,
                func: Some(func),
            }),
        }
        Ok(())
    }

    /// Removes the registration of `name` with `args` arguments; false if there was none.
    pub fn remove(&self, name: &str, args: Option<usize>) -> Result<bool> {
        check(name, args)?;
        let name = name.to_ascii_lowercase();
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        Ok(entries
            .iter_mut()
            .find(|e| e.name == name && e.args == args && e.func.is_some())
            .map(|e| e.func = None)
            .is_some())
    }

    /// True when no function is registered (the planner skips the lookup).
    pub fn is_empty(&self) -> bool {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.iter().all(|e| e.func.is_none())
    }

    /// The registration a call of `name` with `nargs` arguments uses: the one for exactly
    /// that count, else the one for any count.
    pub fn resolve(&self, name: &str, nargs: usize) -> Option<UserFnId> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let live = |want: Option<usize>| {
            entries.iter().position(|e| {
                e.func.is_some() && e.args == want && e.name.eq_ignore_ascii_case(name)
            })
        };
        live(Some(nargs))
            .or_else(|| live(None))
            .map(|i| UserFnId(i as u32))
    }

    /// True when `name` is defined for some argument count.
    pub fn has_name(&self, name: &str) -> bool {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .any(|e| e.func.is_some() && e.name.eq_ignore_ascii_case(name))
    }

    /// True for a registration made deterministic.
    pub fn is_deterministic(&self, id: UserFnId) -> bool {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(id.0 as usize).is_some_and(|e| e.deterministic)
    }

    /// Calls the function; an error it returns is reported as the function's.
    pub fn call(&self, id: UserFnId, args: &[Value]) -> Result<Value> {
        let (name, func) = {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            let e = entries
                .get(id.0 as usize)
                .ok_or_else(|| Error::invalid("no such function"))?;
            match &e.func {
                Some(f) => (e.name.clone(), f.clone()),
                None => return Err(Error::invalid(format!("no such function: {}", e.name))),
            }
        };
        // The lock is released: the function may register others (not use the connection).
        CALL_DEPTH.with(|d| d.set(d.get() + 1));
        let r = func(args);
        CALL_DEPTH.with(|d| d.set(d.get() - 1));
        r.map_err(|e| match e {
            // Already attributed (a nested call).
            Error::UserFunction { .. } | Error::Interrupted | Error::StatementTimeout(_) => e,
            other => Error::UserFunction {
                name,
                message: other.to_string(),
            },
        })
    }
}

/// A statement's cache of deterministic calls: argument lists and their results.
#[derive(Debug, Default)]
pub struct DeterministicCalls {
    calls: std::cell::RefCell<Vec<(UserFnId, Vec<Value>, Value)>>,
}

/// Most results a statement remembers (a lookup is a linear scan: enough for constant
/// arguments and small domains, cheap when the arguments differ on every row).
const MEMO_LIMIT: usize = 16;

impl DeterministicCalls {
    /// Calls `id` through `functions`, reusing an earlier result for the same arguments
    /// when the function is deterministic.
    pub fn call(&self, functions: &UserFunctions, id: UserFnId, args: &[Value]) -> Result<Value> {
        if !functions.is_deterministic(id) {
            return functions.call(id, args);
        }
        // `Value`'s equality compares storage classes too: 1 and 1.0 are different
        // arguments, as a function may tell them apart.
        if let Some((_, _, v)) = self
            .calls
            .borrow()
            .iter()
            .find(|(i, a, _)| *i == id && a.as_slice() == args)
        {
            return Ok(v.clone());
        }
        let v = functions.call(id, args)?;
        let mut calls = self.calls.borrow_mut();
        if calls.len() >= MEMO_LIMIT {
            calls.remove(0);
        }
        calls.push((id, args.to_vec(), v.clone()));
        Ok(v)
    }
}
