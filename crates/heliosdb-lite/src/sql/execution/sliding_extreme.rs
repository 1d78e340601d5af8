//! `min()` and `max()` over a window frame whose start moves, as SQLite computes them.
//!
//! Which of several values equal under the collation ('a' and 'A' under NOCASE) such a call
//! returns is visible. SQLite keeps the frame's values in a temporary index ordered by value
//! (descending for min()) and then by a counter of insertions, and returns its last entry:
//! among equal extremes the most recently added one, for min() as for max(). A row leaving
//! the frame removes the first entry equal to its value (the earliest added of the equal
//! ones, not necessarily its own). This keeps the same entries in a sorted vector, so
//! it gives the same answers. A frame starting at UNBOUNDED PRECEDING is an ordinary running
//! aggregate instead (the first of equal values kept), as in SQLite.

use super::super::value::Value;
use std::cmp::Ordering;

/// The values in the frame so far, in SQLite's index order.
pub(super) struct SlidingExtreme {
    max: bool,
    /// (comparison key, insertion number, value), ordered by key then insertion number.
    entries: Vec<(Value, u64, Value)>,
    inserted: u64,
    /// The next partition row to add, and the next to remove.
    added: usize,
    removed: usize,
}

impl SlidingExtreme {
    /// For `max()` if `max`, else `min()`.
    pub(super) fn new(max: bool) -> Self {
        Self {
            max,
            entries: Vec::new(),
            inserted: 0,
            added: 0,
            removed: 0,
        }
    }

    /// Moves the frame to partition rows `lo..=hi` and returns the result: the bounds of
    /// non-empty frames never move back, and an empty frame (`lo > hi`) is NULL and leaves the
    /// state as it is. `arg(j)` is row `j`'s arguments: the value, then its collation key if any.
    pub(super) fn frame<'a>(
        &mut self,
        lo: usize,
        hi: usize,
        arg: &dyn Fn(usize) -> &'a [Value],
    ) -> Value {
        if lo > hi {
            // An empty frame: its bounds may be anywhere; the next non-empty one takes over.
            return Value::Null;
        }
        while self.removed < lo {
            if self.removed < self.added {
                self.remove(arg(self.removed));
            }
            self.removed += 1;
        }
        self.added = self.added.max(self.removed);
        while self.added <= hi {
            self.add(arg(self.added));
            self.added += 1;
        }
        // SQLite reads the last entry of an index ordered by value (descending for min())
        // and then by insertion: among equal extremes, the most recently added one.
        let best = if self.max {
            self.entries.last()
        } else {
            self.entries.first().and_then(|first| {
                let equal = self
                    .entries
                    .partition_point(|e| e.0.total_cmp(&first.0) != Ordering::Greater);
                self.entries.get(equal - 1)
            })
        };
        best.map_or(Value::Null, |e| e.2.clone())
    }

    /// A row's comparison key (its collation key if any, else the value); `None` for a NULL
    /// value, which the frame never holds.
    fn key(args: &[Value]) -> Option<&Value> {
        let value = args.first().filter(|v| !v.is_null())?;
        Some(args.get(1).unwrap_or(value))
    }

    fn add(&mut self, args: &[Value]) {
        let Some(key) = Self::key(args) else {
            return;
        };
        // After every equal key: insertion numbers only grow.
        let at = self
            .entries
            .partition_point(|e| e.0.total_cmp(key) != Ordering::Greater);
        self.entries
            .insert(at, (key.clone(), self.inserted, args[0].clone()));
        self.inserted += 1;
    }

    fn remove(&mut self, args: &[Value]) {
        let Some(key) = Self::key(args) else {
            return;
        };
        // The first entry not below the key (SQLite's seek), whatever its insertion number.
        let at = self
            .entries
            .partition_point(|e| e.0.total_cmp(key) == Ordering::Less);
        if at < self.entries.len() {
            self.entries.remove(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn equal_values_follow_sqlites_index_order() {
        // Values with a NOCASE key: 'a', 'A', 'b' (rows 0..3), frames 0..=1, 1..=2, 2..=2.
        let args: Vec<Vec<Value>> = ["a", "A", "b"]
            .iter()
            .map(|s| vec![text(s), text(&s.to_lowercase())])
            .collect();
        let arg = |j: usize| args[j].as_slice();
        let mut max = SlidingExtreme::new(true);
        assert_eq!(
            max.frame(0, 1, &arg),
            text("A"),
            "the most recently added of equals"
        );
        let mut min = SlidingExtreme::new(false);
        assert_eq!(
            min.frame(0, 1, &arg),
            text("A"),
            "the most recently added of equals, for min() too"
        );
        // Row 0 ('a') leaves: the earliest equal entry goes, which is 'a' itself here.
        assert_eq!(min.frame(1, 2, &arg), text("A"));
        assert_eq!(max.frame(1, 2, &arg), text("b"));
        assert_eq!(max.frame(3, 2, &arg), Value::Null, "an empty frame");
    }

    #[test]
    fn nulls_are_never_held() {
        let args = [[Value::Null], [Value::Integer(3)], [Value::Null]];
        let arg = |j: usize| args[j].as_slice();
        let mut max = SlidingExtreme::new(true);
        assert_eq!(max.frame(0, 0, &arg), Value::Null);
        assert_eq!(max.frame(0, 2, &arg), Value::Integer(3));
        assert_eq!(max.frame(2, 2, &arg), Value::Null);
    }
}
