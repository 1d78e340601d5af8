//! The write set's run of appended keys seen through a transaction: own reads, savepoints
//! rolled back after appended inserts, out-of-order keys after a run, spills in the middle
//! of a run, and the commit, all against a model.

use super::spill_tests::options;
use super::*;
use crate::storage::MemoryStorage;
use crate::time::ManualClock;
use std::ops::Bound;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn rows(it: impl Iterator<Item = Result<KvPair>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    it.map(|kv| {
        let (k, v) = kv.unwrap();
        (k.to_vec(), v.to_vec())
    })
    .collect()
}

fn check(t: &Transaction, model: &Model, probe: &[Vec<u8>], step: usize) {
    let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(
        rows(t.scan(prefix_range(b"r"), Direction::Forward)),
        want,
        "step {step}"
    );
    let mut rev = want.clone();
    rev.reverse();
    assert_eq!(
        rows(t.scan(prefix_range(b"r"), Direction::Reverse)),
        rev,
        "step {step}"
    );
    // A range starting inside the data, both directions.
    if let Some(mid) = want.get(want.len() / 2) {
        let r = (Bound::Included(mid.0.clone()), Bound::Unbounded);
        let tail: Vec<_> = want[want.len() / 2..].to_vec();
        assert_eq!(rows(t.scan(r, Direction::Forward)), tail, "step {step}");
    }
    for k in probe {
        assert_eq!(
            t.get(k).unwrap().map(|v| v.to_vec()),
            model.get(k).cloned(),
            "step {step}, key {}",
            String::from_utf8_lossy(k)
        );
    }
}

/// Mostly ascending inserts (the bulk case) mixed with out-of-order writes, deletions,
/// savepoints and rollbacks to them, statements ending (their undo dropped), at a budget
/// that never spills and at budgets that spill in the middle of runs.
fn run(budget: usize, seed: u32) {
    let clock = ManualClock::new(1_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, budget)).unwrap();
    {
        let mut t = m.begin(TxnMode::Immediate).unwrap();
        t.start_counting(b"ra").unwrap();
        for i in [5u32, 50, 500] {
            t.put(format!("ra{i:05}").into_bytes(), b"old".to_vec())
                .unwrap();
        }
        t.commit().unwrap().unwrap();
    }
    let mut model: Model = [5u32, 50, 500]
        .into_iter()
        .map(|i| (format!("ra{i:05}").into_bytes(), b"old".to_vec()))
        .collect();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    let mut saved: Vec<(Savepoint, Model)> = Vec::new();
    let mut next = 1000u32;
    let mut x = seed;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for step in 0..1500usize {
        let r = rnd();
        match r % 20 {
            0 => saved.push((t.savepoint(), model.clone())),
            1 if !saved.is_empty() => {
                let i = (r as usize / 20) % saved.len();
                let (sp, state) = saved[i].clone();
                saved.truncate(i + 1);
                t.rollback_to(sp);
                model = state;
            }
            // A statement succeeded: its undo entries go.
            2 if saved.is_empty() => t.release_savepoints(),
            3 => {
                // Out of order: anywhere among the keys written so far, or below them.
                let k = format!("ra{:05}", rnd() % (next + 10)).into_bytes();
                let v = format!("o{step}").into_bytes();
                t.put(k.clone(), v.clone()).unwrap();
                model.insert(k, v);
            }
            4 => {
                let k = format!("ra{:05}", rnd() % (next + 10)).into_bytes();
                t.delete(k.clone()).unwrap();
                model.remove(&k);
            }
            5 if next > 1000 => {
                // The newest key again.
                let k = format!("ra{:05}", next - 1).into_bytes();
                let v = format!("again{step}").into_bytes();
                t.put(k.clone(), v.clone()).unwrap();
                model.insert(k, v);
            }
            _ => {
                next += 1 + rnd() % 2;
                let k = format!("ra{next:05}").into_bytes();
                let v = format!("v{step}").into_bytes();
                if r % 2 == 0 {
                    t.put_unversioned(k.clone(), v.clone()).unwrap();
                } else {
                    t.put(k.clone(), v.clone()).unwrap();
                }
                model.insert(k, v);
            }
        }
        if step % 50 == 0 {
            let probe: Vec<Vec<u8>> = (0..20)
                .map(|_| format!("ra{:05}", rnd() % (next + 10)).into_bytes())
                .chain(std::iter::once(format!("ra{next:05}").into_bytes()))
                .collect();
            check(&t, &model, &probe, step);
        }
    }
    let probe: Vec<Vec<u8>> = model.keys().cloned().collect();
    check(&t, &model, &probe, usize::MAX);
    let spilled = t.has_spilled();
    t.commit().unwrap().unwrap();
    let snap = m.snapshot();
    let want: Vec<_> = model.into_iter().collect();
    assert_eq!(
        rows(snap.scan(prefix_range(b"r"), Direction::Forward)),
        want
    );
    assert_eq!(snap.live_count(b"ra").unwrap(), Some(want.len() as i64));
    assert_eq!(spilled, budget < 1 << 20, "budget {budget}");
}

#[test]
fn appended_runs_in_memory_match_the_model() {
    for seed in [7, 99, 1234] {
        run(64 << 20, seed);
    }
}

#[test]
fn appended_runs_that_spill_match_the_model() {
    for (budget, seed) in [(2_000, 7), (9_000, 99), (30_000, 1234)] {
        run(budget, seed);
    }
}

/// The undo of appended keys is by position: a rollback after a run, an out-of-order key
/// that moves the run into the map, then more appends, must each undo exactly their own.
#[test]
fn rollback_to_after_a_run_moved_into_the_map() {
    let clock = ManualClock::new(1_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 64 << 20)).unwrap();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in 0..10u32 {
        t.put(format!("rb{i:03}").into_bytes(), b"a".to_vec())
            .unwrap();
    }
    let sp = t.savepoint();
    for i in 10..20u32 {
        t.put(format!("rb{i:03}").into_bytes(), b"b".to_vec())
            .unwrap();
    }
    // Inside the run, not in it: the run moves into the map.
    t.put(b"rb0055".to_vec(), b"c".to_vec()).unwrap();
    for i in 20..25u32 {
        t.put(format!("rb{i:03}").into_bytes(), b"d".to_vec())
            .unwrap();
    }
    let sp2 = t.savepoint();
    t.put(b"rb030".to_vec(), b"e".to_vec()).unwrap();
    t.rollback_to(sp2);
    assert_eq!(t.get(b"rb030").unwrap(), None);
    assert_eq!(t.get(b"rb024").unwrap().as_deref(), Some(&b"d"[..]));
    t.rollback_to(sp);
    let keys: Vec<Vec<u8>> = rows(t.scan(prefix_range(b"r"), Direction::Forward))
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let want: Vec<Vec<u8>> = (0..10u32)
        .map(|i| format!("rb{i:03}").into_bytes())
        .collect();
    assert_eq!(keys, want);
    t.put(b"rb100".to_vec(), b"f".to_vec()).unwrap();
    t.commit().unwrap().unwrap();
    assert_eq!(
        m.snapshot()
            .scan(prefix_range(b"r"), Direction::Forward)
            .count(),
        11
    );
}
