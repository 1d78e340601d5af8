use super::super::layer_map::bounds_empty;
use super::*;
use std::collections::BTreeMap as Model;

fn range_is_empty(range: &KeyRange) -> bool {
    bounds_empty(slice_bound(&range.0), slice_bound(&range.1))
}

/// The store behind the buffer in these tests: a map that flushes write into.
#[derive(Default)]
struct Tables(Mutex<Model<Vec<u8>, Vec<u8>>>);

impl Tables {
    fn ingest(&self, layer: &Layer) -> Result<()> {
        let mut t = lock(&self.0);
        let mut last: Option<Vec<u8>> = None;
        layer.for_each_entry(|k, v| {
            assert!(
                last.as_deref().is_none_or(|l| l < k),
                "flushed in order, once each"
            );
            last = Some(k.to_vec());
            match v {
                Some(v) => t.insert(k.to_vec(), v.to_vec()),
                None => t.remove(k),
            };
        });
        Ok(())
    }

    fn iter(&self, range: &KeyRange, direction: Direction) -> KvIter<'static> {
        let t = lock(&self.0);
        let mut pairs: Vec<Result<KvPair>> = if range_is_empty(range) {
            Vec::new()
        } else {
            t.range::<[u8], _>((slice_bound(&range.0), slice_bound(&range.1)))
                .map(|(k, v)| Ok((Bytes::from(&k[..]), Bytes::from(&v[..]))))
                .collect()
        };
        if direction == Direction::Reverse {
            pairs.reverse();
        }
        Box::new(pairs.into_iter())
    }
}

fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed;
    move |m| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    }
}

fn key(n: u64) -> Vec<u8> {
    format!("k{n:03}").into_bytes()
}

fn bound(rng: &mut impl FnMut(u64) -> u64) -> Bound<Vec<u8>> {
    match rng(3) {
        0 => Bound::Unbounded,
        1 => Bound::Included(key(rng(60))),
        _ => Bound::Excluded(key(rng(60))),
    }
}

/// Adds a deletion of `k` (or a put of a value made from `round`) to `batch` and to `model`.
fn write_both(
    batch: &mut WriteBatch,
    model: &mut Model<Vec<u8>, Vec<u8>>,
    k: Vec<u8>,
    delete: bool,
    round: u64,
    rng: &mut impl FnMut(u64) -> u64,
) {
    if delete {
        batch.delete(k.clone());
        model.remove(&k);
    } else {
        let v = format!("v{round}-{}", rng(1000)).into_bytes();
        batch.put(k.clone(), v.clone());
        model.insert(k, v);
    }
}

fn model_range(model: &Model<Vec<u8>, Vec<u8>>, range: &KeyRange, dir: Direction) -> Vec<KvPair> {
    if range_is_empty(range) {
        return Vec::new();
    }
    let mut v: Vec<KvPair> = model
        .range::<[u8], _>((slice_bound(&range.0), slice_bound(&range.1)))
        .map(|(k, v)| (Bytes::from(&k[..]), Bytes::from(&v[..])))
        .collect();
    if dir == Direction::Reverse {
        v.reverse();
    }
    v
}

/// Random batches of puts and deletes through a buffer with a tiny limit (layers freeze
/// often), flushes at random moments, against a map of what was written: every point read
/// and every scan, in both directions over random ranges, must agree, also when a layer is
/// flushed while a scan is under way.
#[test]
fn reads_and_scans_agree_with_a_model_through_freezes_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let (buffer, recovered) = WriteBuffer::open(dir.path(), 1).unwrap();
    assert!(recovered.ops.is_empty());
    let tables = Tables::default();
    let ingest = |l: &Layer| tables.ingest(l);
    let mut model: Model<Vec<u8>, Vec<u8>> = Model::new();
    let mut rng = xorshift(0x5eed_1234_abcd_0001);
    for round in 0..3_000u64 {
        let mut batch = WriteBatch::new();
        // Bursts of ascending keys (a bulk load's) take the layers' tails.
        let ascending = rng(3) == 0;
        for i in 0..1 + rng(4) {
            let k = if ascending {
                key(round / 60 + i + 40)
            } else {
                key(rng(60))
            };
            let delete = rng(4) == 0;
            write_both(&mut batch, &mut model, k, delete, round, &mut rng);
        }
        // With a limit of 1 byte (raised to the floor) layers freeze every few batches.
        buffer.apply(&batch, round % 50 == 0).unwrap();
        if rng(5) == 0 {
            buffer.flush_oldest(&ingest).unwrap();
        }
        let k = key(rng(60));
        let got = buffer
            .get(&k)
            .unwrap_or_else(|| lock(&tables.0).get(&k).map(|v| Bytes::from(&v[..])));
        assert_eq!(
            got.as_deref(),
            model.get(&k).map(Vec::as_slice),
            "key {k:?}"
        );
        if round % 7 == 0 {
            let range = (bound(&mut rng), bound(&mut rng));
            let dir = if rng(2) == 0 {
                Direction::Forward
            } else {
                Direction::Reverse
            };
            let mut it = buffer.merge(|| tables.iter(&range, dir), &range, dir);
            // Flush under the scan: its layers stay readable, its table iterator is older.
            let first = it.next().map(|r| r.unwrap());
            while buffer.flush_oldest(&ingest).unwrap() {}
            let got: Vec<KvPair> = first.into_iter().chain(it.map(|r| r.unwrap())).collect();
            assert_eq!(
                got,
                model_range(&model, &range, dir),
                "range {range:?} {dir:?}"
            );
        }
    }
    buffer.flush_all(&ingest).unwrap();
    assert!(buffer.is_empty());
    assert_eq!(*lock(&tables.0), model);
}

/// A visit lends what a forward merge returns, through freezes and flushes, over layers
/// holding more keys than a chunk (so the cursors read several chunks of each), and stops
/// where its caller says.
#[test]
fn visits_lend_what_a_forward_merge_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (buffer, _) = WriteBuffer::open(dir.path(), 1).unwrap();
    let tables = Tables::default();
    let ingest = |l: &Layer| tables.ingest(l);
    let mut model: Model<Vec<u8>, Vec<u8>> = Model::new();
    let mut rng = xorshift(0x5eed_1234_abcd_0002);
    let wide = |rng: &mut dyn FnMut(u64) -> u64| match rng(3) {
        0 => Bound::Unbounded,
        1 => Bound::Included(key(rng(600))),
        _ => Bound::Excluded(key(rng(600))),
    };
    // Visits made while a frozen layer waited beside the active one.
    let mut layered = 0;
    for round in 0..1_500u64 {
        let mut batch = WriteBatch::new();
        for _ in 0..1 + rng(150) {
            let k = key(rng(600));
            let delete = rng(3) == 0;
            write_both(&mut batch, &mut model, k, delete, round, &mut rng);
        }
        buffer.apply(&batch, false).unwrap();
        // No flusher runs here: keep the frozen layers below what makes a writer wait (and
        // let one wait beside the active layer, so that visits merge layers with each other).
        if rng(9) == 0 || read(&buffer.layers).frozen.len() >= MAX_FROZEN {
            buffer.flush_oldest(&ingest).unwrap();
        }
        if round % 5 == 0 {
            layered += usize::from(!read(&buffer.layers).frozen.is_empty());
            let range = (wide(&mut rng), wide(&mut rng));
            let want = model_range(&model, &range, Direction::Forward);
            // Stop after `stop` pairs (past the end: never).
            let stop = rng(want.len() as u64 + 2) as usize;
            let mut got: Vec<KvPair> = Vec::new();
            buffer
                .visit(
                    || tables.iter(&range, Direction::Forward),
                    &range,
                    &mut |k, v| {
                        got.push((Bytes::from(k), Bytes::from(v)));
                        got.len() < stop
                    },
                )
                .unwrap();
            let expected = &want[..want.len().min(stop.max(1))];
            assert_eq!(&got[..], expected, "range {range:?}, stop {stop}");
        }
    }
    assert!(layered > 30, "only {layered} visits over two layers");
}

/// What a run leaves in the logs comes back on open, in order; a torn record at the end of
/// the newest log (a batch being written when the process stopped) is dropped; damage in an
/// older log is an error, not a silent loss.
#[test]
fn logs_replay_in_order_and_a_torn_tail_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let batch = |pairs: &[(&str, Option<&str>)]| {
        let mut b = WriteBatch::new();
        for (k, v) in pairs {
            match v {
                Some(v) => b.put(k.as_bytes().to_vec(), v.as_bytes().to_vec()),
                None => b.delete(k.as_bytes().to_vec()),
            }
        }
        b
    };
    {
        let (buffer, _) = WriteBuffer::open(dir.path(), 1 << 20).unwrap();
        buffer
            .apply(&batch(&[("a", Some("1")), ("b", Some("1"))]), true)
            .unwrap();
        buffer.freeze_active().unwrap();
        buffer
            .apply(&batch(&[("a", Some("2")), ("b", None)]), false)
            .unwrap();
        buffer.apply(&batch(&[("c", Some("3"))]), false).unwrap();
    }
    let logs = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(FOLDER))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        v.sort();
        v
    };
    let found = logs(dir.path());
    assert_eq!(found.len(), 2);
    // A torn record at the end of the newest log: the header of a batch and part of it.
    let mut tail = encoded(&batch(&[("d", Some("4"))]));
    tail.truncate(tail.len() - 2);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&found[1])
        .unwrap()
        .write_all(&tail)
        .unwrap();
    let (_, recovered) = WriteBuffer::open(dir.path(), 1 << 20).unwrap();
    let got: Vec<(&[u8], Option<&[u8]>)> = recovered
        .ops
        .iter()
        .map(|(k, v)| (&k[..], v.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (&b"a"[..], Some(&b"2"[..])),
            (b"b", None),
            (b"c", Some(b"3")),
        ]
    );
    assert_eq!(recovered.logs, found);
    // Once they are in the tables, the marker names the newest and the logs go; a log whose
    // deletion a power cut undid is not replayed again.
    let (buffer, recovered) = WriteBuffer::open(dir.path(), 1 << 20).unwrap();
    let kept = std::fs::read(&found[0]).unwrap();
    recovered.done(&buffer).unwrap();
    drop(buffer);
    std::fs::write(&found[0], &kept).unwrap();
    let (buffer, recovered) = WriteBuffer::open(dir.path(), 1 << 20).unwrap();
    assert!(
        recovered.ops.is_empty(),
        "a log the marker covers is not replayed"
    );
    assert!(!found[0].exists());
    drop(buffer);
    // Back to the damaged-older-log case with a fresh folder.
    std::fs::remove_file(dir.path().join(FOLDER).join(FLUSHED)).unwrap();
    for p in logs(dir.path()) {
        std::fs::remove_file(p).unwrap();
    }
    std::fs::write(&found[0], &kept).unwrap();
    std::fs::write(&found[1], encoded(&batch(&[("e", Some("5"))]))).unwrap();
    // The same damage in the older log cannot be a batch in progress.
    let mut older = std::fs::read(&found[0]).unwrap();
    let last = older.len() - 1;
    older[last] ^= 0xff;
    std::fs::write(&found[0], older).unwrap();
    let err = WriteBuffer::open(dir.path(), 1 << 20)
        .err()
        .expect("damage refused");
    assert!(matches!(err, Error::Corruption(_)), "{err}");
}

/// Writers wait while too many layers wait for their flush, and get the flush's error
/// instead of waiting forever when it keeps failing.
#[test]
fn writers_wait_for_room_and_see_a_failing_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (buffer, _) = WriteBuffer::open(dir.path(), 1).unwrap();
    let big = |n: u8| {
        let mut b = WriteBatch::new();
        b.put(vec![n], vec![0; 70 * 1024]);
        b
    };
    // Each batch outgrows the 64 KiB floor: every one freezes its layer.
    for n in 0..MAX_FROZEN as u8 {
        assert!(buffer.apply(&big(n), false).unwrap());
    }
    let failing = |_: &Layer| -> Result<()> { Err(Error::Storage("disk full".into())) };
    assert!(buffer.flush_oldest(&failing).is_err());
    let err = buffer.apply(&big(9), false).expect_err("no room");
    assert!(err.to_string().contains("disk full"), "{err}");
    let tables = Tables::default();
    buffer.flush_all(&|l| tables.ingest(l)).unwrap();
    buffer.apply(&big(9), false).unwrap();
    assert_eq!(lock(&tables.0).len(), MAX_FROZEN);
}

/// A batch's log record.
fn encoded(b: &WriteBatch) -> Vec<u8> {
    let mut rec = Vec::new();
    encode(b, &mut rec);
    rec
}
