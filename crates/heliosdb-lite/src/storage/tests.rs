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
