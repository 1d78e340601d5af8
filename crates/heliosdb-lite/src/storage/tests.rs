//! The same behavioural suite, run against every backend.

use super::*;

fn backends() -> Vec<(Box<dyn Storage>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let fj = FjallStorage::open(dir.path(), &FjallOptions::default()).unwrap();
    vec![
        (Box::new(MemoryStorage::new()), None),
        (Box::new(fj), Some(dir)),
    ]
}

fn collect(it: KvIter<'_>) -> Vec<KvPair> {
    it.collect::<Result<Vec<_>>>().unwrap()
}

#[test]
fn get_put_delete_batch() {
    for (s, _d) in backends() {
        let mut b = WriteBatch::new();
        b.put(b"a".to_vec(), b"1".to_vec());
        b.put(b"b".to_vec(), b"2".to_vec());
        b.put(b"a".to_vec(), b"3".to_vec());
        s.write(b, true).unwrap();
        assert_eq!(
            s.get(b"a").unwrap().map(|v| v.to_vec()),
            Some(b"3".to_vec()),
            "{}",
            s.name()
        );
        assert_eq!(s.get(b"c").unwrap(), None);
        let mut b = WriteBatch::new();
        b.delete(b"a".to_vec());
        s.write(b, false).unwrap();
        assert_eq!(s.get(b"a").unwrap(), None);
        s.sync().unwrap();
    }
}

#[test]
fn ordered_scans_both_directions_across_chunks() {
    for (s, _d) in backends() {
        let mut b = WriteBatch::new();
        for i in 0u32..1000 {
            b.put(i.to_be_bytes().to_vec(), vec![i as u8]);
        }
        s.write(b, true).unwrap();
        let all = collect(s.scan((Bound::Unbounded, Bound::Unbounded), Direction::Forward));
        assert_eq!(all.len(), 1000);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
        let rev = collect(s.scan(
            (
                Bound::Included(10u32.to_be_bytes().to_vec()),
                Bound::Excluded(500u32.to_be_bytes().to_vec()),
            ),
            Direction::Reverse,
        ));
        assert_eq!(rev.len(), 490);
        assert_eq!(rev[0].0.to_vec(), 499u32.to_be_bytes().to_vec());
        assert_eq!(rev.last().unwrap().0.to_vec(), 10u32.to_be_bytes().to_vec());
        // Empty and inverted ranges are empty, never a panic.
        let k = 5u32.to_be_bytes().to_vec();
        assert!(collect(s.scan(
            (Bound::Excluded(k.clone()), Bound::Excluded(k.clone())),
            Direction::Forward
        ))
        .is_empty());
        assert!(collect(s.scan(
            (
                Bound::Included(k),
                Bound::Excluded(1u32.to_be_bytes().to_vec())
            ),
            Direction::Forward
        ))
        .is_empty());
    }
}

#[test]
fn prefix_ranges() {
    assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
    assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
    assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
    for (s, _d) in backends() {
        let mut b = WriteBatch::new();
        for k in [&b"a"[..], b"ab", b"abc", b"b", b"aa"] {
            b.put(k.to_vec(), vec![]);
        }
        s.write(b, false).unwrap();
        let keys: Vec<_> = collect(s.scan(prefix_range(b"ab"), Direction::Forward))
            .into_iter()
            .map(|(k, _)| k.to_vec())
            .collect();
        assert_eq!(keys, vec![b"ab".to_vec(), b"abc".to_vec()]);
    }
}

#[test]
fn fjall_persists_across_reopen_and_rejects_files() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = FjallStorage::open(dir.path(), &FjallOptions::default()).unwrap();
        let mut b = WriteBatch::new();
        b.put(b"k".to_vec(), b"v".to_vec());
        s.write(b, true).unwrap();
    }
    let s = FjallStorage::open(dir.path(), &FjallOptions::default()).unwrap();
    assert_eq!(
        s.get(b"k").unwrap().map(|v| v.to_vec()),
        Some(b"v".to_vec())
    );
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"SQLite format 3\0").unwrap();
    assert!(matches!(
        FjallStorage::open(&file, &FjallOptions::default()),
        Err(crate::Error::Corruption(_))
    ));
}

/// Gets (plain, and of values about to be replaced), writes and deletes in batches, and
/// sorted ingestions, in any order, read back as a plain map says they should: the cache of
/// recently read values (fjall) never serves a value that a later write replaced or deleted.
mod reads_after_writes {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Get(u8),
        GetToReplace(u8),
        Put(Vec<(u8, u8)>),
        Delete(u8),
        Sorted(Vec<(u8, u8)>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..12).prop_map(Op::Get),
            2 => (0u8..12).prop_map(Op::GetToReplace),
            2 => proptest::collection::vec((0u8..12, any::<u8>()), 1..4).prop_map(Op::Put),
            1 => (0u8..12).prop_map(Op::Delete),
            1 => proptest::collection::vec((0u8..12, any::<u8>()), 1..4).prop_map(Op::Sorted),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn every_read_sees_the_last_write(ops in proptest::collection::vec(op(), 1..40)) {
            for (s, _d) in backends() {
                let mut model: BTreeMap<u8, u8> = BTreeMap::new();
                for op in &ops {
                    match op {
                        Op::Get(k) => {
                            let got = s.get(&[*k]).unwrap().map(|v| v[0]);
                            prop_assert_eq!(got, model.get(k).copied(), "{} key {}", s.name(), k);
                        }
                        Op::GetToReplace(k) => {
                            let got = s.get_to_replace(&[*k]).unwrap().map(|v| v[0]);
                            prop_assert_eq!(got, model.get(k).copied(), "{} key {}", s.name(), k);
                        }
                        Op::Put(pairs) => {
                            let mut b = WriteBatch::new();
                            for (k, v) in pairs {
                                b.put(vec![*k], vec![*v]);
                                model.insert(*k, *v);
                            }
                            s.write(b, false).unwrap();
                        }
                        Op::Delete(k) => {
                            let mut b = WriteBatch::new();
                            b.delete(vec![*k]);
                            model.remove(k);
                            s.write(b, false).unwrap();
                        }
                        Op::Sorted(pairs) => {
                            let sorted: BTreeMap<u8, u8> = pairs.iter().copied().collect();
                            model.extend(&sorted);
                            let one = |b: u8| Bytes::from(&[b][..]);
                            s.write_sorted(&mut sorted.into_iter().map(|(k, v)| (one(k), one(v))))
                                .unwrap();
                        }
                    }
                }
            }
        }
    }
}

/// A writer raises two keys while readers read them: a read never returns less than what a
/// write that had returned before the read began wrote, and a key never goes back, cache or
/// no cache. (fjall's reads of the newest data may see part of a batch being applied, so the
/// two keys are not compared with each other.)
#[test]
fn concurrent_readers_never_see_a_replaced_value() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
    for (s, _d) in backends() {
        let put = |n: u64| {
            let mut b = WriteBatch::new();
            b.put(b"a".to_vec(), n.to_be_bytes().to_vec());
            b.put(b"b".to_vec(), n.to_be_bytes().to_vec());
            s.write(b, false).unwrap();
        };
        put(0);
        let (done, written) = (AtomicBool::new(false), AtomicU64::new(0));
        let read =
            |k: &[u8]| u64::from_be_bytes(s.get(k).unwrap().unwrap()[..8].try_into().unwrap());
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    let mut last = [0, 0];
                    while !done.load(SeqCst) {
                        for (i, k) in [&b"a"[..], b"b"].into_iter().enumerate() {
                            let floor = written.load(SeqCst);
                            let v = read(k);
                            assert!(
                                v >= floor,
                                "{}: read {v} after {floor} was written",
                                s.name()
                            );
                            assert!(
                                v >= last[i],
                                "{}: went back to {v} from {}",
                                s.name(),
                                last[i]
                            );
                            last[i] = v;
                        }
                    }
                });
            }
            for n in 1..3000 {
                put(n);
                if n % 500 == 0 {
                    // An ingestion too, which drops every cached value.
                    let mut pairs =
                        [(Bytes::from(&b"a"[..]), Bytes::from(&n.to_be_bytes()[..]))].into_iter();
                    s.write_sorted(&mut pairs).unwrap();
                }
                written.store(n, SeqCst);
            }
            done.store(true, SeqCst);
        });
        assert_eq!(read(b"a"), 2999);
    }
}

/// A settled range seek answers as the plain seek does, the second time from memory (fjall).
#[test]
fn settled_range_seeks_answer_like_plain_ones() {
    for (s, _d) in backends() {
        let mut b = WriteBatch::new();
        for k in [&b"a1"[..], b"a3", b"b1"] {
            b.put(k.to_vec(), k.to_vec());
        }
        s.write(b, false).unwrap();
        let range = || {
            (
                Bound::Included(b"a2".to_vec()),
                Bound::Included(b"a9".to_vec()),
            )
        };
        for _ in 0..3 {
            let got = s.first_in_settled_range(range()).unwrap().unwrap();
            assert_eq!(
                (&got.0[..], &got.1[..]),
                (&b"a3"[..], &b"a3"[..]),
                "{}",
                s.name()
            );
            assert_eq!(Some(got), s.first_in_range(range()).unwrap());
        }
        let empty = (Bound::Included(b"c".to_vec()), Bound::Unbounded);
        assert_eq!(s.first_in_settled_range(empty.clone()).unwrap(), None);
        assert_eq!(s.first_in_settled_range(empty).unwrap(), None);
    }
}
