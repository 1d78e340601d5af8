//! Heads that list their key's past versions (`keys::Past`): reads at older snapshots find
//! the version by its exact history key, and agree with a model at every SCN, across
//! deletes, re-inserts, lists cut at their limit, GC, and heads of earlier formats. On disk,
//! a key's history read more than once is kept whole (`Storage::settled_run`) and searched:
//! those reads must agree with the model too, while the history grows past the copy and GC
//! removes its front.

use super::tests::{get_at as read, options, store};
use super::*;
use crate::storage::{FjallOptions, FjallStorage, MemoryStorage};
use crate::time::ManualClock;
use std::sync::atomic::Ordering::Relaxed;

/// Commits one write per key of `writes` (`None` deletes) and returns the commit's SCN.
fn commit(m: &Mvcc, writes: &[(&str, Option<String>)]) -> u64 {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for (k, v) in writes {
        match v {
            Some(v) => t
                .put(k.as_bytes().to_vec(), v.clone().into_bytes())
                .unwrap(),
            None => t.delete(k.as_bytes().to_vec()).unwrap(),
        }
    }
    t.commit().unwrap().unwrap().scn
}

/// The state of every key after each commit, by SCN.
type Model = Vec<(u64, BTreeMap<String, String>)>;

/// Key `a` changes in every commit (deleted every 7th, re-inserted after), `b` every 13th,
/// `c` once; 400 commits, so `a`'s list is cut at its limit several times over.
fn churn(m: &Mvcc) -> Model {
    let mut state = BTreeMap::new();
    let mut model = Vec::new();
    for i in 0..400u32 {
        let mut writes: Vec<(&str, Option<String>)> = Vec::new();
        writes.push(("a", (i % 7 != 3).then(|| format!("a{i}"))));
        if i % 13 == 0 {
            writes.push(("b", (i % 26 != 0).then(|| format!("b{i}"))));
        }
        if i == 200 {
            writes.push(("c", Some("c".into())));
        }
        let scn = commit(m, &writes);
        for (k, v) in writes {
            match v {
                Some(v) => state.insert(k.to_string(), v),
                None => state.remove(k),
            };
        }
        model.push((scn, state.clone()));
    }
    model
}

fn check(m: &Mvcc, model: &Model, from: u64) {
    for (scn, state) in model.iter().filter(|(s, _)| *s >= from) {
        for k in ["a", "b", "c", "d"] {
            assert_eq!(read(m, *scn, k), state.get(k).cloned(), "{k} at {scn}");
        }
    }
}

#[test]
fn reads_at_every_point_of_long_histories_agree_with_a_model() {
    for disk in [false, true] {
        let clock = ManualClock::new(1_000_000);
        let dir = tempfile::tempdir().unwrap();
        let m = Mvcc::open(store(disk, dir.path()), options(&clock)).unwrap();
        let model = churn(&m);
        let reads = || view::PAST_READS.load(Relaxed) + view::RUN_READS.load(Relaxed);
        let before = reads();
        check(&m, &model, 0);
        // Most of the older reads went through the lists (recent points of `a`, all of `b`),
        // or on disk, from a key's second read on, through the copy of its history.
        let through_lists = reads() - before;
        assert!(through_lists > 200, "{through_lists}");
        // Heads stay small: the list is bounded, history entries carry none.
        let head = m.storage().get(&keys::head_key(b"a")).unwrap().unwrap();
        assert!(
            head.len() <= 2 + 10 + 2 + keys::PAST_MAX_BYTES + 4,
            "{}",
            head.len()
        );
        for kv in m.storage().scan(
            crate::storage::prefix_range(&[keys::HISTORY]),
            Direction::Forward,
        ) {
            let (_, v) = kv.unwrap();
            assert_eq!(keys::decode_version(&v).unwrap().past, None);
        }
    }
}

#[test]
fn lists_naming_collected_versions_still_read_right_above_the_horizon() {
    let clock = ManualClock::new(1_000_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock)).unwrap();
    let model = churn(&m);
    m.set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 150,
    });
    let r = m.gc().unwrap();
    assert!(r.versions_removed > 0);
    check(&m, &model, r.new_horizon);
    // Deleted and collected, then written again: the new head's list starts over.
    commit(&m, &[("d", Some("d1".into()))]);
    let gone = commit(&m, &[("d", None)]);
    for _ in 0..3 {
        commit(&m, &[("a", Some("x".into()))]);
    }
    m.set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 1,
    });
    m.gc().unwrap();
    assert!(m.horizon() > gone);
    let again = commit(&m, &[("d", Some("d2".into()))]);
    assert_eq!(read(&m, again, "d").as_deref(), Some("d2"));
    assert_eq!(read(&m, again - 1, "d"), None);
}

#[test]
fn heads_of_earlier_formats_are_read_and_gain_lists_when_superseded() {
    // A format-6 store: heads and history entries without lists.
    let clock = ManualClock::new(1_000_000);
    let storage = Arc::new(MemoryStorage::new());
    let mut b = crate::storage::WriteBatch::new();
    b.put(
        keys::meta_key(b"format"),
        b"heliosdb-lite storage format 6".to_vec(),
    );
    b.put(
        keys::history_key(b"a", 3),
        keys::encode_version(1, Some(b"a1")),
    );
    b.put(
        keys::history_key(b"a", 5),
        keys::encode_version(3, Some(b"a3")),
    );
    b.put(keys::head_key(b"a"), keys::encode_version(5, None));
    for scn in 1u64..=5 {
        let entry = CommitEntry {
            txid: scn,
            time_us: scn as i64,
        };
        b.put(keys::commit_key(scn), commit_log::encode_entry(&entry));
    }
    storage.write(b, true).unwrap();
    let m = Mvcc::open(storage.clone(), options(&clock)).unwrap();
    let s1 = commit(&m, &[("a", Some("a6".into()))]);
    let s2 = commit(&m, &[("a", Some("a7".into()))]);
    let head = storage.get(&keys::head_key(b"a")).unwrap().unwrap();
    let version = keys::decode_version(&head).unwrap();
    let past = version.past.expect("a list");
    assert!(past.is_truncated());
    assert_eq!(past.versions(version.begin).count(), 2);
    let expected = [
        (1, Some("a1")),
        (2, Some("a1")),
        (3, Some("a3")),
        (4, Some("a3")),
        (5, None),
        (s1, Some("a6")),
        (s2, Some("a7")),
    ];
    for (scn, want) in expected {
        assert_eq!(read(&m, scn, "a").as_deref(), want, "at {scn}");
    }
}

#[test]
fn a_new_key_read_absent_under_the_lock_starts_a_complete_list() {
    let clock = ManualClock::new(1_000_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock)).unwrap();
    let before = commit(&m, &[("z", Some("other".into()))]);
    let listed = |k: &[u8]| {
        let head = m.storage().get(&keys::head_key(k)).unwrap().unwrap();
        let v = keys::decode_version(&head).unwrap();
        v.past
            .map(|p| (p.versions(v.begin).count(), p.is_truncated()))
    };
    // An INSERT's uniqueness check reads the head under the write lock: none.
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    assert_eq!(t.get(b"k").unwrap(), None);
    assert!(t.put_unversioned(b"k".to_vec(), b"v".to_vec()).unwrap());
    // A key derived to be new without a read (a rowid past every one in use).
    assert!(t.put_unversioned(b"j".to_vec(), b"w".to_vec()).unwrap());
    let scn = t.commit().unwrap().unwrap().scn;
    assert_eq!(listed(b"k"), Some((0, false)));
    assert_eq!(listed(b"j"), None);
    for k in ["k", "j"] {
        assert_eq!(read(&m, before, k), None);
    }
    assert_eq!(read(&m, scn, "k").as_deref(), Some("v"));
    // Over a tombstone read the same way: the deletion and what it deleted are listed.
    let gone = commit(&m, &[("k", None)]);
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    assert_eq!(t.get(b"k").unwrap(), None);
    assert!(t.put_unversioned(b"k".to_vec(), b"v2".to_vec()).unwrap());
    let again = t.commit().unwrap().unwrap().scn;
    assert_eq!(listed(b"k"), Some((2, false)));
    let want = [
        (before, None),
        (scn, Some("v")),
        (gone, None),
        (again, Some("v2")),
    ];
    for (at, v) in want {
        assert_eq!(read(&m, at, "k").as_deref(), v, "at {at}");
    }
}

#[test]
fn copies_of_whole_histories_answer_like_the_store_while_it_grows_and_is_collected() {
    let dir = tempfile::tempdir().unwrap();
    let disk = FjallStorage::open(dir.path(), &FjallOptions::default()).unwrap();
    copies_answer_like_the_store(Arc::new(disk));
    copies_answer_like_the_store(Arc::new(MemoryStorage::with_run_cache(8 << 20)));
}

fn copies_answer_like_the_store(storage: Arc<dyn Storage>) {
    let clock = ManualClock::new(1_000_000);
    let m = Mvcc::open(storage.clone(), options(&clock)).unwrap();
    let mut model = churn(&m);
    // A key whose history is too large to copy: every read goes to the store.
    let big = "x".repeat(600);
    let mut big_points = Vec::new();
    for i in 0..40 {
        let value = (i % 5 != 4).then(|| format!("{i}{big}"));
        big_points.push((commit(&m, &[("big", value.clone())]), value));
    }
    storage.checkpoint().unwrap();
    let before = view::RUN_READS.load(Relaxed);
    // Read twice: the first miss marks a history, the second copies it, the rest search it.
    check(&m, &model, 0);
    check(&m, &model, 0);
    let copied = view::RUN_READS.load(Relaxed) - before;
    assert!(copied > 400, "{copied}");
    // The histories grow past their copies: the new points are read from the store until
    // such reads have paid for new copies, the older ones still from the copies.
    let mut state = model.last().unwrap().1.clone();
    for i in 0..20u32 {
        let writes: Vec<(&str, Option<String>)> = vec![
            ("a", (i % 3 != 1).then(|| format!("late a{i}"))),
            ("b", Some(format!("late b{i}"))),
        ];
        let scn = commit(&m, &writes);
        for (k, v) in writes {
            match v {
                Some(v) => state.insert(k.to_string(), v),
                None => state.remove(k),
            };
        }
        model.push((scn, state.clone()));
        check(&m, &model, 0);
    }
    // GC removes the front of the histories the copies still hold.
    m.set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 100,
    });
    let r = m.gc().unwrap();
    assert!(r.versions_removed > 0);
    check(&m, &model, r.new_horizon);
    storage.checkpoint().unwrap();
    check(&m, &model, r.new_horizon);
    for _ in 0..3 {
        for (scn, want) in big_points.iter().filter(|(s, _)| *s >= r.new_horizon) {
            assert_eq!(read(&m, *scn, "big"), want.clone(), "big at {scn}");
        }
    }
    // Asked for often, the large history is remembered as too large, which answers nothing
    // (checked on the storage: the read counter is shared with tests running beside this
    // one).
    for pairs in [None, Some(1)] {
        let big = storage.settled_run(&keys::history_prefix(b"big"), keys::SCN_LEN, &[0; 8], pairs);
        assert!(big.unwrap().is_none());
    }
}
