//! Direct heads: listed and ranged records, ingestion, take-back.

use super::*;
use crate::storage::MemoryStorage;

fn head(s: &MemoryStorage, k: &[u8]) -> Option<(u64, Option<Vec<u8>>)> {
    s.get(&keys::head_key(k)).unwrap().map(|h| {
        let v = keys::decode_version(&h).unwrap();
        (v.begin, v.data.map(<[u8]>::to_vec))
    })
}

/// A memory store that takes the ingestion path, counting its sorted writes (each one
/// synced batch, as the trait's default).
#[derive(Default)]
struct Ingesting(MemoryStorage, std::sync::atomic::AtomicUsize);

impl Storage for Ingesting {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.0.get(key)
    }
    fn scan(&self, range: crate::storage::KeyRange, d: Direction) -> crate::storage::KvIter<'_> {
        self.0.scan(range, d)
    }
    fn write(&self, batch: WriteBatch, durable: bool) -> Result<()> {
        self.0.write(batch, durable)
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn ingests_sorted(&self) -> bool {
        true
    }
    fn write_sorted(&self, pairs: &mut dyn Iterator<Item = (Bytes, Bytes)>) -> Result<()> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut batch = WriteBatch::new();
        let mut last: Option<Bytes> = None;
        for (k, v) in pairs {
            assert!(
                last.as_ref().is_none_or(|l| *l < k),
                "ingested out of order"
            );
            last = Some(k.clone());
            batch.put(k, v);
        }
        self.0.write(batch, true)
    }
    fn size_bytes(&self) -> u64 {
        0
    }
    fn name(&self) -> &'static str {
        "ingesting"
    }
}

fn records(s: &dyn Storage, txid: u64) -> usize {
    s.scan(prefix_range(&record_prefix(txid)), Direction::Forward)
        .count()
}

fn heads_at(s: &dyn Storage, scn: u64) -> usize {
    s.scan(prefix_range(&[keys::HEAD]), Direction::Forward)
        .filter(|kv| keys::decode_version(&kv.as_ref().unwrap().1).unwrap().begin == scn)
        .count()
}

fn key(i: usize, width: usize) -> Vec<u8> {
    let mut k = format!("k{i:08}").into_bytes();
    k.resize(width.max(k.len()), b'.');
    k
}

/// Many heads go through sorted writes, each with the records listing its heads written
/// in it (after the heads); few go through batches; an error entry or a key out of order
/// stops the writing with everything before it listed, so a take-back removes it all.
#[test]
fn many_heads_are_ingested_with_their_records() {
    let write = |s: &Ingesting, entries: Vec<Result<(Vec<u8>, Vec<u8>)>>| {
        let mut seq = 0;
        let r = write_heads(s, (3, &mut seq), 11, 1000, entries.into_iter(), |_| {});
        (r, seq)
    };
    // Few: batches, no sorted write.
    let s = Ingesting::default();
    let few = (0..999).map(|i| Ok((key(i, 0), b"v".to_vec()))).collect();
    assert!(write(&s, few).0.is_ok());
    assert_eq!(s.1.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(heads_at(&s, 11), 999);
    assert_eq!(take_back_uncommitted(&s).unwrap(), 999);
    assert_eq!(heads_at(&s, 11), 0);

    // Many: one sorted write, one record.
    let s = Ingesting::default();
    let many = (0..10_000)
        .map(|i| Ok((key(i, 0), b"v".to_vec())))
        .collect();
    let (r, seq) = write(&s, many);
    r.unwrap();
    assert_eq!((s.1.load(std::sync::atomic::Ordering::SeqCst), seq), (1, 1));
    assert_eq!(records(&s, 3), 1);
    assert_eq!(heads_at(&s, 11), 10_000);
    assert_eq!(take_back_uncommitted(&s).unwrap(), 10_000);
    assert_eq!((heads_at(&s, 11), records(&s, 3)), (0, 0));

    // Long keys: 6 MB of them, two ingestions of several records each.
    let s = Ingesting::default();
    let long = (0..6_000).map(|i| Ok((key(i, 1000), Vec::new()))).collect();
    let (r, seq) = write(&s, long);
    r.unwrap();
    assert_eq!(s.1.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(seq >= 6, "{seq} records");
    assert_eq!(records(&s, 3), seq as usize);
    assert_eq!(take_back_uncommitted(&s).unwrap(), 6_000);
    assert_eq!(heads_at(&s, 11), 0);

    // An error entry after 5,000: those are written and listed, the error returned.
    let s = Ingesting::default();
    let failing = (0..8_000)
        .map(|i| match i {
            5_000 => Err(Error::invalid("the source failed")),
            i => Ok((key(i, 0), b"v".to_vec())),
        })
        .collect();
    let (r, _) = write(&s, failing);
    assert!(r.unwrap_err().to_string().contains("the source failed"));
    assert_eq!(heads_at(&s, 11), 5_000);
    assert_eq!(take_back_uncommitted(&s).unwrap(), 5_000);

    // A key out of order after 2,000: an error, the 2,000 before it listed.
    let s = Ingesting::default();
    let unsorted = (0..3_000)
        .map(|i| Ok((key(if i == 2_000 { 5 } else { i }, 0), Vec::new())))
        .collect();
    let (r, _) = write(&s, unsorted);
    assert!(r.unwrap_err().to_string().contains("out of order"));
    assert_eq!(heads_at(&s, 11), 2_000);
    assert_eq!(take_back_uncommitted(&s).unwrap(), 2_000);
}

/// Heads under a new prefix are named by one record and no list, on either path; taking
/// them back removes every head under the prefix stamped with their SCN and nothing else
/// (heads of other SCNs under it, keys beside it); a key outside the prefix is an error
/// after the ones before it, which are taken back too.
#[test]
fn heads_under_a_new_prefix_are_named_by_one_record() {
    let write = |s: &Ingesting, n: usize, stray: Option<usize>| {
        let mut seq = 0;
        let entries = (0..n).map(|i| {
            let mut k = b"ix".to_vec();
            if stray == Some(i) {
                k = b"iy".to_vec();
            }
            k.extend_from_slice(&key(i, 0));
            Ok((k, Vec::<u8>::new()))
        });
        let mut written = 0;
        let r = write_heads_under(s, (3, &mut seq), 11, 1000, b"ix", entries, |_| written += 1);
        (r, seq, written)
    };
    for n in [999, 10_000] {
        let s = Ingesting::default();
        // Beside the range, and under it at another SCN: left alone.
        let mut b = WriteBatch::new();
        b.put(keys::head_key(b"iw"), keys::encode_version(4, Some(b"")));
        b.put(keys::head_key(b"ix"), keys::encode_version(4, Some(b"")));
        b.put(keys::head_key(b"iz"), keys::encode_version(11, Some(b"")));
        s.write(b, false).unwrap();
        let (r, seq, written) = write(&s, n, None);
        r.unwrap();
        assert_eq!((seq, written), (1, n));
        let sorted = s.1.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(sorted, usize::from(n >= 1000), "{n} heads");
        assert_eq!(records(&s, 3), 1, "one record, no lists");
        assert_eq!(heads_at(&s, 11), n + 1);
        assert_eq!(take_back_uncommitted(&s).unwrap(), n as u64);
        assert_eq!((heads_at(&s, 11), records(&s, 3)), (1, 0));
        assert_eq!(heads_at(&s, 4), 2);
    }
    // A stray key after 5,000: an error, those before it written and taken back.
    let s = Ingesting::default();
    let (r, _, written) = write(&s, 8_000, Some(5_000));
    assert!(r.unwrap_err().to_string().contains("outside"));
    assert_eq!((written, heads_at(&s, 11)), (5_000, 5_000));
    assert_eq!(take_back_uncommitted(&s).unwrap(), 5_000);
    assert_eq!(heads_at(&s, 11), 0);
    // A record naming a range decodes as one.
    let mut v = 11u64.to_be_bytes().to_vec();
    v.extend_from_slice(&UNDER.to_be_bytes());
    v.extend_from_slice(b"ix");
    assert_eq!(decode_record(&v).unwrap(), (11, Heads::Under(&b"ix"[..])));
}

#[test]
fn heads_are_listed_and_taken_back_restoring_tombstones() {
    let s = MemoryStorage::new();
    // "t" had a version [3, 5) and a tombstone head since 5.
    let mut b = WriteBatch::new();
    b.put(
        keys::history_key(b"t", 5),
        keys::encode_version(3, Some(b"old")),
    );
    b.put(keys::head_key(b"t"), keys::encode_version(5, None));
    // "c" has a committed live head, which a direct write never touches.
    b.put(keys::head_key(b"c"), keys::encode_version(4, Some(b"c")));
    s.write(b, false).unwrap();
    let entries: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"t", b"2")];
    let mut seq = 0;
    write_heads(
        &s,
        (7, &mut seq),
        9,
        4096,
        entries.into_iter().map(Ok),
        |_| {},
    )
    .unwrap();
    assert_eq!(seq, 1);
    assert_eq!(head(&s, b"a"), Some((9, Some(b"1".to_vec()))));
    assert_eq!(head(&s, b"t"), Some((9, Some(b"2".to_vec()))));
    assert!(own_head(&s, b"c", 9).unwrap().is_none());
    assert_eq!(take_back_uncommitted(&s).unwrap(), 2);
    assert_eq!(head(&s, b"a"), None);
    assert_eq!(head(&s, b"t"), Some((5, None)));
    assert_eq!(head(&s, b"c"), Some((4, Some(b"c".to_vec()))));
    assert!(s
        .first_in_range(prefix_range(&record_prefix(7)))
        .unwrap()
        .is_none());
    assert!(decode_record(&[0; 7]).is_err());
    assert!(decode_record(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, b'k']).is_err());
}

/// The kinds of the records of transaction `txid`: (listed, interval) counts.
fn record_kinds(s: &dyn Storage, txid: u64) -> (usize, usize) {
    let mut kinds = (0, 0);
    for kv in s.scan(prefix_range(&record_prefix(txid)), Direction::Forward) {
        match decode_record(&kv.unwrap().1).unwrap().1 {
            Heads::Listed(_) => kinds.0 += 1,
            Heads::Interval(..) => kinds.1 += 1,
            Heads::Under(_) | Heads::Overwritten(_) => panic!("no range record here"),
        }
    }
    kinds
}

/// Rows known up front: a run of keys with no head between them (a load's new rows past the
/// table's end) is named by interval records; rows among heads already stored (index entries,
/// a row replacing a tombstone) are listed. A take-back removes exactly the rows written, and
/// brings a replaced tombstone back. Through batches and through ingestions alike; when both
/// parts would be ingestions, everything is listed in one.
#[test]
fn runs_of_new_keys_are_named_by_intervals() {
    for ingest_min in [4096, 100, 8] {
        let s = Ingesting::default();
        let mut b = WriteBatch::new();
        // Committed heads among the first 40 keys (every fourth), one of them a tombstone
        // of a version [3, 5).
        for i in (0..40).step_by(4) {
            b.put(
                keys::head_key(&key(i, 0)),
                keys::encode_version(4, Some(b"c")),
            );
        }
        b.put(
            keys::history_key(&key(8, 0), 5),
            keys::encode_version(3, Some(b"old")),
        );
        b.put(keys::head_key(&key(8, 0)), keys::encode_version(5, None));
        s.write(b, false).unwrap();
        // New rows: the gaps among the first 40 keys, the tombstone's key, then 200 past them.
        let rows: Vec<(Vec<u8>, Vec<u8>)> = (0..240)
            .filter(|i| *i >= 40 || i % 4 != 0 || *i == 8)
            .map(|i| (key(i, 0), b"v".to_vec()))
            .collect();
        let mut seq = 0;
        write_heads_in_runs(&s, (5, &mut seq), 9, ingest_min, &rows).unwrap();
        assert!(seq as usize <= rows.len(), "at most one record per row");
        assert_eq!(heads_at(&s, 9), rows.len());
        let (listed, intervals) = record_kinds(&s, 5);
        if ingest_min == 8 {
            assert_eq!((listed, intervals), (1, 0), "one ingestion, listed");
            assert_eq!(take_back_txn(&s, 5).unwrap(), rows.len() as u64);
            assert_eq!(heads_at(&s, 9), 0);
            continue;
        }
        assert!(
            listed >= 1 && intervals >= 1,
            "{listed} lists, {intervals} intervals"
        );
        // The interval records name most of the 200 rows past the stored heads (a few after
        // the last seek among the stored heads are listed).
        let mut named = 0;
        for kv in s.scan(prefix_range(&record_prefix(5)), Direction::Forward) {
            let v = kv.unwrap().1;
            if let (_, Heads::Interval(first, last)) = decode_record(&v).unwrap() {
                named += rows
                    .iter()
                    .filter(|(k, _)| k.as_slice() >= first && k.as_slice() <= last)
                    .count();
            }
        }
        assert!(named >= 180, "{named} rows named by intervals");
        assert_eq!(take_back_txn(&s, 5).unwrap(), rows.len() as u64);
        assert_eq!(heads_at(&s, 9), 0);
        assert_eq!(head(&s.0, &key(8, 0)), Some((5, None)));
        assert_eq!(head(&s.0, &key(4, 0)), Some((4, Some(b"c".to_vec()))));
        assert_eq!(records(&s, 5), 0);
    }
}

/// A head an earlier write of the transaction left between two new rows (a row it wrote, then
/// deleted after a savepoint; an explicit rowid in a gap) keeps the later write's rows out of
/// one interval: a `ROLLBACK TO` that takes back only the later write must leave it.
#[test]
fn an_interval_never_spans_an_earlier_write() {
    let s = MemoryStorage::new();
    let mut seq = 0;
    let earlier = [(key(50, 0), b"e".to_vec())];
    write_heads_in_runs(&s, (5, &mut seq), 9, 4096, &earlier).unwrap();
    let later_first = seq;
    let rows: Vec<(Vec<u8>, Vec<u8>)> = (0..100)
        .filter(|i| *i != 50)
        .map(|i| (key(i, 0), b"v".to_vec()))
        .collect();
    write_heads_in_runs(&s, (5, &mut seq), 9, 4096, &rows).unwrap();
    assert_eq!(record_kinds(&s, 5), (1, 2));
    let mut taken = 0;
    take_back_from(&s, 5, later_first, |_, _, _| taken += 1).unwrap();
    assert_eq!(taken, rows.len());
    assert_eq!(head(&s, &key(50, 0)), Some((9, Some(b"e".to_vec()))));
    assert_eq!(heads_at(&s, 9), 1);
    assert_eq!(records(&s, 5), 1);
}

/// An interval record decodes to its two keys; a damaged one is a corruption error.
#[test]
fn interval_records_round_trip() {
    let r = interval_record(7, b"abc", b"abz");
    assert_eq!(
        decode_record(&r).unwrap(),
        (7, Heads::Interval(b"abc", b"abz"))
    );
    assert!(decode_record(&r[..14]).is_err());
}

/// Records of rows written over their heads decode as such, and a cut one is an error.
#[test]
fn overwrite_records_decode_as_their_own_kind() {
    let mut r = 9u64.to_be_bytes().to_vec();
    r.extend_from_slice(&super::super::overwrite::OVERWRITTEN.to_be_bytes());
    for key in [&b"ab"[..], b"c"] {
        r.extend_from_slice(&(key.len() as u32).to_be_bytes());
        r.extend_from_slice(key);
    }
    assert_eq!(
        decode_record(&r).unwrap(),
        (9, Heads::Overwritten(vec![&b"ab"[..], b"c"]))
    );
    assert!(decode_record(&r[..r.len() - 1]).is_err());
}
