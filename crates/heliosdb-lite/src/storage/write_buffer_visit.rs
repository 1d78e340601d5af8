//! A forward scan of the buffer merged with the tables that lends its pairs instead of
//! copying them ([`WriteBuffer::visit`]).
//!
//! A scan's iterator hands out owned keys: every buffered key it returns is copied out of its
//! layer (a heap block for keys over 20 bytes), a chunk at a time, and merged through a queue.
//! For a reader that only looks at each pair and moves on, such as the copy of one key's
//! history a time-travel read keeps ([`super::super::settled_run`]), that copying was most of
//! the read: about 1,200 instructions a pair. Here the layers stay locked for reading while
//! the visit runs, so their entries are lent where they lie; the tables' pairs, which their
//! iterator owns anyway, are lent as well. Writers wait for the visit, so it is meant for
//! short ranges.

use super::{read, slice_bound, WriteBuffer, CHUNK};
use crate::error::Result;
use crate::storage::layer_map::{Entry, LayerMap};
use crate::storage::{KeyRange, KvIter};
use std::cmp::Ordering;
use std::ops::Bound;

/// A visit's position in one locked layer: a chunk of borrowed entries at a time.
struct RefCursor<'a> {
    map: &'a LayerMap,
    upper: Bound<&'a [u8]>,
    refs: Vec<(&'a [u8], &'a Entry)>,
    pos: usize,
    /// The layer has no entries in the range after `refs`.
    done: bool,
}

impl<'a> RefCursor<'a> {
    fn new(map: &'a LayerMap, lower: Bound<&'a [u8]>, upper: Bound<&'a [u8]>) -> Self {
        let refs = map.range_refs((lower, upper), false, CHUNK);
        RefCursor {
            map,
            upper,
            done: refs.len() < CHUNK,
            refs,
            pos: 0,
        }
    }

    /// The entry the cursor is at, reading the next chunk when the last one is used up.
    fn current(&mut self) -> Option<(&'a [u8], &'a Entry)> {
        if self.pos == self.refs.len() && !self.done {
            let last = self.refs.last().expect("a full chunk").0;
            self.refs = self
                .map
                .range_refs((Bound::Excluded(last), self.upper), false, CHUNK);
            self.pos = 0;
            self.done = self.refs.len() < CHUNK;
        }
        self.refs.get(self.pos).copied()
    }
}

impl WriteBuffer {
    /// Calls `visit` with every pair in `range`, ascending, over `tables` (the tables'
    /// iterator over the same range, forward), until it returns `false`: what
    /// [`WriteBuffer::merge`] would return, lent instead of copied. The layers are read-locked
    /// until it returns.
    pub(crate) fn visit<'a>(
        &self,
        tables: impl FnOnce() -> KvIter<'a>,
        range: &KeyRange,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        // The layers first, then the tables, as a merge takes them: a layer flushed in
        // between is read from both, and the layer's copy wins.
        let layers = self.snapshot();
        let guards: Vec<_> = layers.iter().map(|l| read(&l.map)).collect();
        let mut tables = tables().peekable();
        let (lower, upper) = (slice_bound(&range.0), slice_bound(&range.1));
        let mut cursors: Vec<RefCursor<'_>> = guards
            .iter()
            .filter(|map| !map.is_empty())
            .map(|map| RefCursor::new(map, lower, upper))
            .collect();
        loop {
            // The first key among the layers; the newest layer (first) wins a tie.
            let mut best: Option<(&[u8], &Entry)> = None;
            for cursor in &mut cursors {
                if let Some((k, e)) = cursor.current() {
                    if best.is_none_or(|(b, _)| k < b) {
                        best = Some((k, e));
                    }
                }
            }
            let Some((key, entry)) = best else {
                // Only the tables are left.
                for pair in tables {
                    let (k, v) = pair?;
                    if !visit(&k, &v) {
                        break;
                    }
                }
                return Ok(());
            };
            let from_tables = match tables.peek() {
                Some(Ok((t, _))) => Some(t[..].cmp(key)),
                Some(Err(_)) => return tables.next().expect("peeked").map(|_| ()),
                None => None,
            };
            match from_tables {
                Some(Ordering::Less) => {
                    let (k, v) = tables.next().expect("peeked")?;
                    if !visit(&k, &v) {
                        return Ok(());
                    }
                    continue;
                }
                // The tables' copy is older than the layer's: hidden.
                Some(Ordering::Equal) => drop(tables.next()),
                _ => {}
            }
            // Every layer's copy of the key is passed (the older ones are hidden).
            for cursor in &mut cursors {
                if cursor.current().is_some_and(|(k, _)| k == key) {
                    cursor.pos += 1;
                }
            }
            if let Some(value) = entry {
                if !visit(key, value) {
                    return Ok(());
                }
            }
        }
    }
}
