//! Model-based property test of the versioned store: random sequences of transactions,
//! rollbacks, GC runs and historical reads (by SCN, transaction id and timestamp), checked
//! against a plain in-memory model of every committed state. Runs on both backends, and
//! again with a write-set budget of one byte, so that almost every transaction spills its
//! writes (and undo log) to storage: reads inside it, savepoints, commit, rollback and the
//! AS OF reads after must not tell the difference.

use heliosdb_lite::mvcc::{AsOf, Mvcc, MvccOptions, Retention, ScannedHead, TxnMode};
use heliosdb_lite::storage::Direction::Forward;
use heliosdb_lite::storage::{FjallOptions, FjallStorage, MemoryStorage, Storage};
use heliosdb_lite::time::ManualClock;
use heliosdb_lite::Error;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// One step inside a transaction.
#[derive(Debug, Clone)]
enum Step {
    /// Put (`Some`) or delete (`None`) a key.
    Write(u8, Option<u8>),
    /// Take a savepoint.
    Savepoint,
    /// Roll back to one of the savepoints taken (chosen by this selector), keeping it.
    RollbackTo(u8),
    /// Scan everything the transaction sees, forwards (`false`) or backwards.
    Scan(bool),
    /// What batched `UPDATE ... WHERE key = ?` executions do: for `len` keys in ascending
    /// order from `from` (beyond the keys above), read the row to replace, then write most
    /// of them (a new value from `v`, or a delete): past a run of ascending reads the
    /// transaction serves them through a walk it keeps.
    Rewrite { from: u8, len: u8, v: u8 },
    /// What a DELETE or UPDATE over a whole table does: a scan that keeps the committed
    /// heads it reads (`keep_scanned_head`, carried past the heads' budget), then a write of
    /// most rows (a new value from `v`, or a delete). Spilled, such writes go over their
    /// heads (`mvcc::overwrite`).
    ScanRewrite(u8),
}

#[derive(Debug, Clone)]
enum Op {
    /// A transaction of steps; commit or roll back; with the third flag, as an autocommit
    /// statement runs (no undo log: its savepoint steps are skipped).
    Txn(Vec<Step>, bool, bool),
    /// Advance the clock by this many microseconds.
    Tick(u32),
    /// GC with this retention.
    Gc {
        retention_us: u32,
        max_snapshots: u8,
    },
    /// Read the whole state at a point chosen by this selector.
    Read(u16, u8),
    /// Reopen the store (fjall only; memory keeps its map).
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u8..8, proptest::option::of(any::<u8>())).prop_map(|(k, v)| Step::Write(k, v)),
        1 => Just(Step::Savepoint),
        1 => any::<u8>().prop_map(Step::RollbackTo),
        1 => any::<bool>().prop_map(Step::Scan),
        1 => (8u8..200, 32u8..56, any::<u8>()).prop_map(|(from, len, v)| Step::Rewrite { from, len, v }),
        1 => any::<u8>().prop_map(Step::ScanRewrite),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (proptest::collection::vec(step(), 1..8), any::<bool>(), any::<bool>())
            .prop_map(|(w, c, whole)| Op::Txn(w, c, whole)),
        2 => (1u32..1000).prop_map(Op::Tick),
        1 => (0u32..3000, 0u8..6).prop_map(|(r, m)| Op::Gc { retention_us: r, max_snapshots: m }),
        3 => (any::<u16>(), 0u8..4).prop_map(|(s, m)| Op::Read(s, m)),
        1 => Just(Op::Reopen),
    ]
}

struct Model {
    /// State after each SCN (index = SCN).
    states: Vec<BTreeMap<u8, u8>>,
    /// (txid, time) of each SCN >= 1.
    commits: Vec<(u64, i64)>,
    horizon: u64,
}

fn open(storage: Arc<dyn Storage>, clock: &ManualClock, max_hot: usize, txn_bytes: usize) -> Mvcc {
    Mvcc::open(
        storage,
        MvccOptions {
            clock: Arc::new(clock.clone()),
            auto_gc: false,
            retention: Retention {
                min_retention_us: 0,
                max_snapshots: 1_000_000,
            },
            // Tiny, so most resolutions go through the on-disk commit records.
            max_snapshots_in_memory: max_hot,
            txn_memory_bytes: txn_bytes,
            ..MvccOptions::default()
        },
    )
    .unwrap()
}

fn run(ops: Vec<Op>, disk: bool, txn_bytes: usize) {
    let dir = tempfile::tempdir().unwrap();
    // Keeping copies of histories read often, as an in-memory database does.
    let memory = MemoryStorage::with_run_cache(1 << 20);
    let make = || -> Arc<dyn Storage> {
        if disk {
            Arc::new(FjallStorage::open(dir.path(), &FjallOptions::default()).unwrap())
        } else {
            Arc::new(memory.clone())
        }
    };
    let clock = ManualClock::new(1_000_000);
    let max_hot = if disk { 2 } else { 4 };
    let mut db = open(make(), &clock, max_hot, txn_bytes);
    let mut m = Model {
        states: vec![BTreeMap::new()],
        commits: Vec::new(),
        horizon: 0,
    };
    for op in ops {
        match op {
            Op::Txn(writes, commit, whole) => {
                let mut t = db.begin(TxnMode::Deferred).unwrap();
                if whole {
                    t.forgo_partial_rollback();
                }
                let mut next = m.states.last().unwrap().clone();
                let mut saved = Vec::new();
                for step in &writes {
                    match step {
                        Step::Write(k, v) => {
                            match v {
                                Some(v) => {
                                    t.put(vec![*k], vec![*v]).unwrap();
                                    next.insert(*k, *v);
                                }
                                None => {
                                    t.delete(vec![*k]).unwrap();
                                    next.remove(k);
                                }
                            }
                            // Read-your-writes.
                            assert_eq!(
                                t.get(&[*k]).unwrap().map(|v| v.to_vec()),
                                next.get(k).map(|v| vec![*v])
                            );
                        }
                        Step::Rewrite { from, len, v } => {
                            for k in *from..from.saturating_add(*len) {
                                let got = t.reading_rows_to_replace(|| t.get(&[k])).unwrap();
                                assert_eq!(
                                    got.map(|v| v.to_vec()),
                                    next.get(&k).map(|v| vec![*v]),
                                    "row {k} read to be rewritten"
                                );
                                match (k ^ v) % 4 {
                                    0 => {
                                        t.delete(vec![k]).unwrap();
                                        next.remove(&k);
                                    }
                                    1 => {}
                                    _ => {
                                        t.put(vec![k], vec![v.wrapping_add(k)]).unwrap();
                                        next.insert(k, v.wrapping_add(k));
                                    }
                                }
                            }
                        }
                        Step::ScanRewrite(v) => {
                            t.capture_scanned_heads(true);
                            let mut rows = Vec::new();
                            for r in t.scan((Bound::Unbounded, Bound::Unbounded), Forward) {
                                let (k, old) = r.unwrap();
                                let kept = t.keep_scanned_head(|| k.to_vec());
                                rows.push((k[0], old[0], kept));
                            }
                            t.capture_scanned_heads(false);
                            for (k, old, kept) in rows {
                                if let ScannedHead::Carry(head) = kept {
                                    t.keep_head_for_write(vec![k], head);
                                }
                                match (k ^ v) % 3 {
                                    0 => {
                                        t.delete(vec![k]).unwrap();
                                        next.remove(&k);
                                    }
                                    1 => {}
                                    _ => {
                                        t.put(vec![k], vec![old.wrapping_add(*v)]).unwrap();
                                        next.insert(k, old.wrapping_add(*v));
                                    }
                                }
                            }
                        }
                        Step::Savepoint if whole => {}
                        Step::RollbackTo(_) if whole => {}
                        Step::Savepoint => saved.push((t.savepoint(), next.clone())),
                        Step::RollbackTo(sel) => {
                            if !saved.is_empty() {
                                let i = *sel as usize % saved.len();
                                saved.truncate(i + 1);
                                t.rollback_to(saved[i].0);
                                next = saved[i].1.clone();
                                for k in 0..8u8 {
                                    assert_eq!(
                                        t.get(&[k]).unwrap().map(|v| v.to_vec()),
                                        next.get(&k).map(|v| vec![*v])
                                    );
                                }
                            }
                        }
                        Step::Scan(reverse) => {
                            let dir = if *reverse {
                                heliosdb_lite::storage::Direction::Reverse
                            } else {
                                heliosdb_lite::storage::Direction::Forward
                            };
                            let mut got: Vec<(u8, u8)> = t
                                .scan((Bound::Unbounded, Bound::Unbounded), dir)
                                .map(|r| {
                                    let (k, v) = r.unwrap();
                                    (k[0], v[0])
                                })
                                .collect();
                            if *reverse {
                                got.reverse();
                            }
                            let want: Vec<(u8, u8)> = next.iter().map(|(k, v)| (*k, *v)).collect();
                            assert_eq!(got, want, "scan inside the transaction");
                        }
                    }
                }
                let info = if commit { t.commit().unwrap() } else { None };
                if let Some(info) = info {
                    assert_eq!(info.scn, m.states.len() as u64);
                    if let Some(&(txid, time)) = m.commits.last() {
                        assert!(info.txid > txid && info.time_us > time);
                    }
                    m.states.push(next);
                    m.commits.push((info.txid, info.time_us));
                } else if commit {
                    // Nothing left to write (every write was rolled back to a savepoint).
                    assert_eq!(&next, m.states.last().unwrap());
                }
            }
            Op::Tick(us) => clock.advance(us as i64),
            Op::Gc {
                retention_us,
                max_snapshots,
            } => {
                db.set_retention(Retention {
                    min_retention_us: retention_us as i64,
                    max_snapshots: max_snapshots as u64,
                });
                let r = db.gc().unwrap();
                assert!(r.new_horizon >= m.horizon);
                m.horizon = r.new_horizon;
                // The retention floor: the state at now - retention stays readable.
                let now = clock.now_micros_checked(&m);
                let floor = now - retention_us as i64;
                let needed = m
                    .commits
                    .iter()
                    .rposition(|&(_, t)| t <= floor)
                    .map(|i| i as u64 + 1);
                // (Only checkable when this run moved the horizon: an earlier run with a
                // shorter retention may already have collected more.)
                if let (Some(n), true) = (needed, r.new_horizon > r.old_horizon) {
                    assert!(
                        m.horizon <= n,
                        "GC collected history younger than the retention floor"
                    );
                }
                assert!(m.horizon < m.states.len() as u64);
            }
            Op::Read(sel, mode) => {
                let latest = m.states.len() as u64 - 1;
                let scn = sel as u64 % (latest + 2); // sometimes one past the newest
                let point = match mode {
                    0 => AsOf::Scn(scn),
                    1 if scn >= 1 && scn <= latest => {
                        AsOf::Transaction(m.commits[scn as usize - 1].0)
                    }
                    2 if scn >= 1 && scn <= latest => {
                        AsOf::Timestamp(m.commits[scn as usize - 1].1)
                    }
                    3 if scn >= 1 && scn <= latest => {
                        AsOf::BeforeTransaction(m.commits[scn as usize - 1].0)
                    }
                    _ => AsOf::Scn(scn),
                };
                let want_scn = match point {
                    AsOf::BeforeTransaction(_) => scn - 1,
                    _ => scn,
                };
                match db.snapshot_as_of(&point) {
                    Ok(snap) => {
                        assert!(
                            want_scn <= latest && want_scn >= m.horizon,
                            "{point:?} readable but should not be"
                        );
                        assert_eq!(snap.scn(), want_scn);
                        let got: BTreeMap<u8, u8> = snap
                            .scan(
                                (Bound::Unbounded, Bound::Unbounded),
                                heliosdb_lite::storage::Direction::Forward,
                            )
                            .map(|r| {
                                let (k, v) = r.unwrap();
                                (k[0], v[0])
                            })
                            .collect();
                        assert_eq!(got, m.states[want_scn as usize], "state at {point:?}");
                        // Twice: on disk a key's history read again is answered from a
                        // copy of it, which must agree too.
                        for k in (0..8u8).chain(0..8u8) {
                            assert_eq!(
                                snap.get(&[k]).unwrap().map(|v| v.to_vec()),
                                m.states[want_scn as usize].get(&k).map(|v| vec![*v])
                            );
                        }
                    }
                    Err(Error::SnapshotTooOld { .. }) => assert!(
                        want_scn < m.horizon,
                        "{point:?} too old at horizon {}",
                        m.horizon
                    ),
                    Err(Error::SnapshotNotAvailable { .. }) => {
                        assert!(want_scn > latest, "{point:?} not available")
                    }
                    Err(e) => panic!("{point:?}: {e}"),
                }
            }
            Op::Reopen => {
                if disk {
                    drop(db);
                    db = open(make(), &clock, max_hot, txn_bytes);
                    assert_eq!(db.latest_scn(), m.states.len() as u64 - 1);
                    assert_eq!(db.horizon(), m.horizon);
                }
            }
        }
    }
}

trait NowChecked {
    fn now_micros_checked(&self, m: &Model) -> i64;
}

impl NowChecked for ManualClock {
    fn now_micros_checked(&self, m: &Model) -> i64 {
        use heliosdb_lite::time::Clock;
        let now = self.now_micros();
        m.commits.last().map_or(now, |&(_, t)| t.max(now))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn memory_backend_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, false, 32 << 20);
    }

    #[test]
    fn fjall_backend_matches_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops, true, 32 << 20);
    }

    #[test]
    fn spilled_transactions_on_memory_match_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, false, 1);
    }

    #[test]
    fn spilled_transactions_on_fjall_match_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops, true, 1);
    }
}
