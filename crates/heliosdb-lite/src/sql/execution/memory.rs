//! The statement's memory budget: what the operators that hold rows may keep in memory.
//!
//! Only operators whose state grows with their input take part: sorts, hash aggregation,
//! hash-join build sides, DISTINCT and set operations (which spill to temporary files when
//! the budget is reached), and materialised subquery results and IN lists (which fail with
//! [`Error::MemoryBudget`], as their results are small in every sensible plan). Each such
//! operator holds a [`Reservation`] and grows it before it keeps more; the sizes are
//! estimates of the heap the rows occupy (enough to keep the process within a fixed overhead
//! of the budget, not an allocator-exact count).

use super::super::value::Value;
use crate::error::{Error, Result};
use std::cell::Cell;
use std::path::PathBuf;

/// The memory one statement's operators may hold, and where they spill.
#[derive(Debug)]
pub struct QueryMemory {
    limit: usize,
    used: Cell<usize>,
    peak: Cell<usize>,
    spill_files: Cell<usize>,
    /// Directory for temporary files (`None`: the system's temporary directory).
    spill_dir: Option<PathBuf>,
}

impl QueryMemory {
    /// A budget of `limit` bytes spilling into `spill_dir`.
    pub fn new(limit: usize, spill_dir: Option<PathBuf>) -> Self {
        Self {
            limit,
            used: Cell::new(0),
            peak: Cell::new(0),
            spill_files: Cell::new(0),
            spill_dir,
        }
    }

    /// No limit (statements run outside a connection's limits: defaults, DDL checks).
    pub fn unlimited() -> Self {
        Self::new(usize::MAX, None)
    }

    /// The budget in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The most held at once so far.
    pub fn peak(&self) -> usize {
        self.peak.get()
    }

    /// Spill files created so far.
    pub fn spill_files(&self) -> usize {
        self.spill_files.get()
    }

    pub(super) fn count_spill_file(&self) {
        self.spill_files.set(self.spill_files.get() + 1);
    }

    /// Where spill files go.
    pub(super) fn spill_dir(&self) -> Option<&std::path::Path> {
        self.spill_dir.as_deref()
    }

    /// Takes `bytes` for the rest of the statement (statement-wide caches), or fails with
    /// [`Error::MemoryBudget`] naming `what`.
    pub(super) fn take_for_statement(&self, bytes: usize, what: &str) -> Result<()> {
        if self.try_take(bytes) {
            Ok(())
        } else {
            Err(self.exceeded(what))
        }
    }

    fn try_take(&self, bytes: usize) -> bool {
        let used = self.used.get().saturating_add(bytes);
        if used > self.limit {
            return false;
        }
        self.used.set(used);
        self.peak.set(self.peak.get().max(used));
        true
    }

    fn give_back(&self, bytes: usize) {
        self.used.set(self.used.get().saturating_sub(bytes));
    }

    /// The error for an operator that cannot spill and has no room left.
    pub(super) fn exceeded(&self, what: &str) -> Error {
        Error::MemoryBudget(format!(
            "{what} needs more than the {} MiB the query may hold ([database] query_memory_mb); \
             raise it, or narrow the query",
            self.limit >> 20
        ))
    }
}

/// Memory one operator holds against the statement's budget; released when dropped.
pub(super) struct Reservation<'e> {
    memory: &'e QueryMemory,
    held: usize,
    /// The most [`Reservation::try_grow`] lets this reservation hold.
    cap: usize,
}

impl<'e> Reservation<'e> {
    pub(super) fn new(memory: &'e QueryMemory) -> Self {
        Self::with_cap(memory, usize::MAX)
    }

    /// A reservation that stops growing at `cap` bytes even when the budget has more room:
    /// an operator that spills through a sorter leaves the sorter room to work.
    pub(super) fn with_cap(memory: &'e QueryMemory, cap: usize) -> Self {
        Self {
            memory,
            held: 0,
            cap,
        }
    }

    /// Takes `bytes` more if the cap and the budget have room; false (and nothing taken)
    /// if not.
    pub(super) fn try_grow(&mut self, bytes: usize) -> bool {
        if self.held.saturating_add(bytes) > self.cap {
            return false;
        }
        self.take_beyond_cap(bytes)
    }

    fn take_beyond_cap(&mut self, bytes: usize) -> bool {
        let ok = self.memory.try_take(bytes);
        if ok {
            self.held += bytes;
        }
        ok
    }

    /// Takes `bytes` more past the cap (state that cannot be spilled, such as one group's
    /// DISTINCT set), or fails with [`Error::MemoryBudget`] naming `what`.
    pub(super) fn grow_beyond_cap(&mut self, bytes: usize, what: &str) -> Result<()> {
        if self.take_beyond_cap(bytes) {
            Ok(())
        } else {
            Err(self.memory.exceeded(what))
        }
    }

    /// Gives everything back (the operator dropped what it held).
    pub(super) fn clear(&mut self) {
        self.memory.give_back(self.held);
        self.held = 0;
    }

    /// The budget this reservation draws on.
    pub(super) fn memory(&self) -> &'e QueryMemory {
        self.memory
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Estimated bytes a value occupies: its slot plus the heap it owns.
pub(super) fn value_bytes(v: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match v {
            Value::Text(s) => s.capacity(),
            Value::Blob(b) => b.capacity(),
            _ => 0,
        }
}

/// Estimated bytes a row occupies, with its vector's header and the allocator's overhead.
pub(super) fn row_bytes(row: &[Value]) -> usize {
    ROW_OVERHEAD + row.iter().map(value_bytes).sum::<usize>()
}

/// A vector header plus a typical allocation's bookkeeping.
pub(super) const ROW_OVERHEAD: usize = 24 + 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_budget_and_give_back_on_drop() {
        let m = QueryMemory::new(100, None);
        let mut a = Reservation::new(&m);
        assert!(a.try_grow(60));
        {
            let mut b = Reservation::new(&m);
            assert!(!b.try_grow(50), "60 + 50 is over 100");
            assert!(b.try_grow(40));
            assert!(matches!(
                b.grow_beyond_cap(1, "a test"),
                Err(Error::MemoryBudget(_))
            ));
        }
        assert!(a.try_grow(40), "b's 40 came back when it was dropped");
        assert_eq!(m.peak(), 100);
        a.clear();
        assert!(a.try_grow(100));
    }

    #[test]
    fn text_counts_its_heap() {
        let small = row_bytes(&[Value::Integer(1)]);
        let big = row_bytes(&[Value::Text("x".repeat(1000))]);
        assert!(big >= small + 1000);
    }
}
