//! Merging a transaction's own pending writes into what it reads from its snapshot.
//!
//! The pending writes come from up to two places, both in key order: the in-memory write set
//! and, once the transaction has spilled, its private range in storage (see [`super::spill`]).
//! [`Overlay`] lays the first over the second; [`MergeIter`] lays the result over the
//! snapshot's keys. A pending delete hides the key; a pending put replaces its data.

use crate::error::Result;
use crate::storage::{Direction, KvPair};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::iter::Peekable;

/// A pending write: key and data (`None`: a delete), borrowed from the in-memory write set
/// or owned when read from storage.
pub(super) type Pending<'a> = (Cow<'a, [u8]>, Option<Cow<'a, [u8]>>);

/// Pending writes in key order (or reverse key order).
pub(super) type PendingIter<'a> = Box<dyn Iterator<Item = Result<Pending<'a>>> + 'a>;

/// True if `a` comes before `b` in the scan's direction.
fn before(a: &[u8], b: &[u8], direction: Direction) -> bool {
    (a.cmp(b) == Ordering::Less) == (direction == Direction::Forward)
}

/// Lays `top` over `bottom`: on equal keys the pending write of `top` wins.
pub(super) struct Overlay<'a> {
    pub(super) top: Peekable<PendingIter<'a>>,
    pub(super) bottom: Peekable<PendingIter<'a>>,
    pub(super) direction: Direction,
}

impl<'a> Iterator for Overlay<'a> {
    type Item = Result<Pending<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let take_top = match (self.top.peek(), self.bottom.peek()) {
            (None, None) => return None,
            (Some(Err(_)), _) | (Some(_), None) => true,
            (_, Some(Err(_))) | (None, Some(_)) => false,
            (Some(Ok((t, _))), Some(Ok((b, _)))) => {
                if t == b {
                    self.bottom.next(); // shadowed
                    true
                } else {
                    before(t, b, self.direction)
                }
            }
        };
        if take_top {
            self.top.next()
        } else {
            self.bottom.next()
        }
    }
}

/// Merges the snapshot's keys with the transaction's own writes (which win on equal keys).
pub(super) struct MergeIter<'a, I: Iterator<Item = Result<KvPair>>> {
    pub(super) base: Peekable<I>,
    pub(super) own: Peekable<PendingIter<'a>>,
    pub(super) direction: Direction,
}

impl<I: Iterator<Item = Result<KvPair>>> Iterator for MergeIter<'_, I> {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_own = match (self.base.peek(), self.own.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) => return self.base.next(),
                (_, Some(Err(_))) | (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(Ok((bk, _))), Some(Ok((ok, _)))) => {
                    if ok.as_ref() == &bk[..] {
                        self.base.next(); // shadowed by own write
                        true
                    } else {
                        before(ok, bk, self.direction)
                    }
                }
            };
            if take_own {
                match self.own.next()? {
                    Err(e) => return Some(Err(e)),
                    Ok((k, Some(v))) => return Some(Ok((k.as_ref().into(), v.as_ref().into()))),
                    Ok((_, None)) => continue,
                }
            }
            return self.base.next();
        }
    }
}

/// A transaction's scan: the snapshot's keys alone when the transaction has no pending write
/// in the range (every read-only statement), which spares each row the merge's peeks and
/// comparisons, or merged with its own writes.
pub(super) enum TxnScan<'a, I: Iterator<Item = Result<KvPair>>> {
    /// No pending write can fall in the range.
    Snapshot(I),
    /// Pending writes laid over the snapshot (boxed: the merge state is large, and built
    /// once per scan).
    Merged(Box<MergeIter<'a, I>>),
    /// The scan could not start: yields the error once.
    Failed(Option<crate::error::Error>),
}

impl<I: Iterator<Item = Result<KvPair>>> Iterator for TxnScan<'_, I> {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            TxnScan::Snapshot(it) => it.next(),
            TxnScan::Merged(it) => it.next(),
            TxnScan::Failed(e) => e.take().map(Err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(items: &[(&'static [u8], Option<&'static [u8]>)]) -> PendingIter<'static> {
        Box::new(
            items
                .iter()
                .map(|&(k, v)| Ok((Cow::Borrowed(k), v.map(Cow::Borrowed))))
                .collect::<Vec<_>>()
                .into_iter(),
        )
    }

    #[test]
    fn memory_over_storage_over_snapshot() {
        for direction in [Direction::Forward, Direction::Reverse] {
            let ord = |mut v: Vec<(&'static [u8], Option<&'static [u8]>)>| {
                if direction == Direction::Reverse {
                    v.reverse();
                }
                v
            };
            let top = pending(&ord(vec![(b"b", None), (b"d", Some(b"mem"))]));
            let bottom = pending(&ord(vec![
                (b"a", Some(b"spilled")),
                (b"b", Some(b"spilled")),
                (b"d", None),
                (b"e", None),
            ]));
            let own: PendingIter<'static> = Box::new(Overlay {
                top: top.peekable(),
                bottom: bottom.peekable(),
                direction,
            });
            let mut base: Vec<Result<KvPair>> = ["a", "c", "e", "f"]
                .iter()
                .map(|k| Ok((k.as_bytes().into(), b"old"[..].into())))
                .collect();
            if direction == Direction::Reverse {
                base.reverse();
            }
            let got: Vec<(String, String)> = MergeIter {
                base: base.into_iter().peekable(),
                own: own.peekable(),
                direction,
            }
            .map(|r| {
                let (k, v) = r.unwrap();
                (
                    String::from_utf8(k.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect();
            let mut want = vec![
                ("a".to_string(), "spilled".to_string()),
                ("c".into(), "old".into()),
                ("d".into(), "mem".into()),
                ("f".into(), "old".into()),
            ];
            if direction == Direction::Reverse {
                want.reverse();
            }
            assert_eq!(got, want, "{direction:?}");
        }
    }
}
