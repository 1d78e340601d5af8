use super::*;
use crate::test_rng::Rng;

type Model = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The invariants of the module documentation, checked directly.
fn check_invariants(m: &LayerMap) {
    assert!(
        m.parts.windows(2).all(|w| w[0].0 < w[1].0),
        "parts out of order"
    );
    for (c, part) in &m.parts {
        part.for_each(&mut |k, _| assert_eq!(class(k), *c, "a key in another byte's part"));
        check_part(part);
    }
}

fn check_part(m: &Part) {
    for (i, t) in m.tails.iter().enumerate() {
        assert!(!t.entries.is_empty(), "tail {i} is empty");
        assert!(
            t.fences
                .iter()
                .eq(t.entries.iter().step_by(BLOCK).map(|(k, _)| k)),
            "tail {i}'s fences are not every {BLOCK}th key"
        );
        assert!(
            t.top.iter().eq(t.fences.iter().step_by(BLOCK)),
            "tail {i}'s top fences are not every {BLOCK}th fence"
        );
        assert!(
            t.entries.windows(2).all(|w| w[0].0 < w[1].0),
            "tail {i} is not strictly ascending"
        );
        if let Some(l) = &t.limit {
            assert!(
                t.last() < &l[..],
                "tail {i} holds a key at or past its limit"
            );
        }
        if let Some(next) = m.tails.get(i + 1) {
            let limit = t.limit.as_ref().expect("only the last tail is unbounded");
            assert!(
                &limit[..] <= next.first(),
                "tails {i} and {} overlap",
                i + 1
            );
        }
        for k in m.map.keys() {
            assert!(!t.owns(k), "map key {k:?} lies in tail {i}'s range");
        }
    }
    assert!(m.tails.len() <= MAX_TAILS);
}

/// Key `n` of a stream. Streams share first bytes three ways (streams from 100 on all one),
/// so that both parts of their own and streams within one part are exercised.
fn key(stream: u8, n: u64) -> MapKey {
    let first = if stream >= 100 { 100 } else { stream % 3 };
    let mut k = MapKey::from_slice(&[first, stream, 7]);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// Key `n` under first byte `first`.
fn raw_key(first: u8, n: u64) -> MapKey {
    let mut k = MapKey::from_slice(&[first]);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// Every entry, through `copy_range` in chunks of `n` the way a scan reads a layer.
fn scan(
    m: &LayerMap,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    reverse: bool,
    n: usize,
) -> Model {
    let mut got = Vec::new();
    let mut last: Option<Vec<u8>> = None;
    loop {
        let (mut lo, mut hi) = (
            lower.as_ref().map(Vec::as_slice),
            upper.as_ref().map(Vec::as_slice),
        );
        if let Some(l) = &last {
            if reverse {
                hi = Bound::Excluded(l);
            } else {
                lo = Bound::Excluded(l);
            }
        }
        let mut chunk: Vec<(Bytes, Entry)> = Vec::new();
        m.copy_range((lo, hi), reverse, n, &mut chunk);
        let done = chunk.len() < n;
        for w in chunk.windows(2) {
            assert_eq!(w[0].0 < w[1].0, !reverse, "a chunk out of order");
        }
        last = chunk.last().map(|(k, _)| k.to_vec());
        got.extend(chunk);
        if done {
            break;
        }
    }
    if reverse {
        got.reverse();
    }
    let model: Model = got
        .into_iter()
        .map(|(k, e)| (k.to_vec(), e.map(|v| v.to_vec())))
        .collect();
    model
}

fn agree(m: &LayerMap, model: &Model, rng: &mut Rng) {
    check_invariants(m);
    let mut all = Vec::new();
    m.for_each(|k, e| all.push((k.to_vec(), e.as_ref().map(|v| v.to_vec()))));
    assert!(
        all.windows(2).all(|w| w[0].0 < w[1].0),
        "for_each out of order"
    );
    assert_eq!(all.into_iter().collect::<Model>(), *model);
    for (k, e) in model {
        assert_eq!(
            m.get(k).map(|e| e.as_ref().map(|v| v.to_vec())),
            Some(e.clone())
        );
    }
    for _ in 0..20 {
        let bound = |rng: &mut Rng| {
            let k = key(rng.below(5) as u8, rng.below(2000)).to_vec();
            match rng.below(3) {
                0 => Bound::Unbounded,
                1 => Bound::Included(k),
                _ => Bound::Excluded(k),
            }
        };
        let (lower, upper) = (bound(rng), bound(rng));
        let reverse = rng.below(2) == 0;
        let n = 1 + rng.below(80) as usize;
        let (lo, hi) = (
            lower.as_ref().map(Vec::as_slice),
            upper.as_ref().map(Vec::as_slice),
        );
        let expect: Model = if bounds_empty(lo, hi) {
            Model::new()
        } else {
            model
                .range::<Vec<u8>, _>((lower.clone(), upper.clone()))
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect()
        };
        assert_eq!(scan(m, lower, upper, reverse, n), expect);
    }
    // Keys that are absent.
    for _ in 0..50 {
        let k = key(rng.below(6) as u8, rng.below(3000));
        if !model.contains_key(&k[..]) {
            assert!(m.get(&k).is_none());
        }
    }
}

/// Runs `ops` insertions whose keys `next_key` draws, checking against a model as it goes.
fn run(seed: u64, ops: usize, mut next_key: impl FnMut(&mut Rng) -> MapKey) {
    let mut rng = Rng(seed);
    // Odd seeds with a filter, sized below the keys for some: it must never hide a key.
    let mut m = if seed % 2 == 1 {
        LayerMap::with_filter(seed as usize * 400)
    } else {
        LayerMap::default()
    };
    let mut model = Model::new();
    for i in 0..ops {
        let k = next_key(&mut rng);
        let e = (rng.below(8) != 0).then(|| Bytes::from(i.to_le_bytes().as_slice()));
        model.insert(k.to_vec(), e.as_ref().map(|v| v.to_vec()));
        m.insert(k, e);
        if i % 97 == 0 {
            agree(&m, &model, &mut rng);
        }
    }
    agree(&m, &model, &mut rng);
}

#[test]
fn interleaved_ascending_streams_agree_with_a_model() {
    for seed in 1..6 {
        let mut next = [0u64; 4];
        run(seed, 3000, |rng| {
            let s = rng.below(4) as usize;
            next[s] += 1 + rng.below(3);
            key(s as u8, next[s])
        });
    }
}

#[test]
fn passes_over_loaded_streams_agree_with_a_model() {
    // What a bulk UPDATE or DELETE does to a layer holding a load: a dense load of two
    // streams in one part (first byte 0: streams 0 and 3), then passes overwriting every
    // first to fourth key in order (the insertion's finger), sometimes a key past the load
    // (a push), a jump further than the finger scans, a step back, or the other stream (the
    // finger does not apply there).
    for seed in 1..6 {
        let mut i = 0u64;
        let mut at = [0u64; 2];
        run(seed, 8000, |rng| {
            i += 1;
            if i <= 3000 {
                return key(if i % 2 == 0 { 0 } else { 3 }, i / 2);
            }
            let s = usize::from(rng.below(16) == 0);
            at[s] = match rng.below(40) {
                0 => at[s].saturating_sub(1 + rng.below(30)),
                1 => at[s] + 9 + rng.below(40),
                2 => 1_500 + rng.below(50),
                _ => at[s] + 1 + rng.below(4),
            } % 1_600;
            key([0, 3][s], at[s])
        });
    }
}

#[test]
fn random_keys_agree_with_a_model() {
    for seed in 1..6 {
        run(seed, 3000, |rng| key(rng.below(3) as u8, rng.below(1500)));
    }
}

#[test]
fn descending_keys_agree_with_a_model() {
    let mut n = 5000;
    run(9, 3000, |_| {
        n -= 1;
        key(1, n)
    });
}

#[test]
fn streams_with_random_keys_and_rewrites_agree_with_a_model() {
    for seed in 1..8 {
        let mut next = [0u64; 5];
        run(seed, 4000, |rng| match rng.below(10) {
            // A random key, often a rewrite of an existing one.
            0 | 1 => key(
                rng.below(5) as u8,
                rng.below(next.iter().max().unwrap() + 1),
            ),
            // A stream going back a little (a key inserted in place).
            2 => {
                let s = rng.below(5) as usize;
                key(s as u8, next[s].saturating_sub(rng.below(40)))
            }
            _ => {
                let s = rng.below(5) as usize;
                next[s] += 1;
                key(s as u8, next[s])
            }
        });
    }
}

#[test]
fn many_streams_stay_within_the_tail_limit() {
    // More streams than tails, started top-down so that each starts a tail.
    let mut next = [0u64; 40];
    let mut started = 40;
    run(3, 6000, |rng| {
        if started > 0 {
            started -= 1;
            return key(100 + started as u8, 0);
        }
        let s = rng.below(40) as usize;
        next[s] += 1;
        key(100 + s as u8, next[s])
    });
}

#[test]
fn a_long_run_hit_by_a_random_key_moves_to_the_map() {
    let mut m = Part::default();
    for n in 0..10_000 {
        m.insert(key(1, n * 2), Some(Bytes::from(&b"v"[..])));
    }
    assert_eq!(m.tails.len(), 1);
    // Far from the end: more than SPLIT_MAX entries follow it.
    m.insert(key(1, 3), None);
    assert!(m.tails.is_empty());
    assert_eq!(m.map.len(), 10_001);
    assert_eq!(m.get(&key(1, 3)), Some(&None));
    check_part(&m);
}

#[test]
fn a_second_stream_below_a_run_splits_it() {
    let mut m = Part::default();
    for n in 0..100 {
        m.insert(key(1, n), None);
    }
    for n in 0..100 {
        m.insert(key(2, n), None);
    }
    // One tail took both streams; a key of the first stream splits it.
    assert_eq!(m.tails.len(), 1);
    m.insert(key(1, 100), None);
    assert_eq!(m.tails.len(), 2);
    for n in 101..200 {
        m.insert(key(1, n), None);
        m.insert(key(2, n), None);
    }
    assert_eq!(m.tails.len(), 2);
    assert!(m.map.is_empty());
    check_part(&m);
}

#[test]
fn a_stream_below_every_map_key_goes_to_a_tail() {
    // Random keys (of a table created later) fill a part's map; a load under them, in key
    // order, must not pay a descent per key.
    let mut m = Part::default();
    let mut rng = Rng(11);
    for _ in 0..2000 {
        m.insert(raw_key(9, rng.below(1_000_000)), None);
    }
    assert!(m.map.len() > 1000, "the random keys are in the map");
    let in_map = m.map.len();
    for n in 0..5000 {
        m.insert(raw_key(1, n), Some(Bytes::from(&b"old"[..])));
    }
    assert_eq!(m.map.len(), in_map, "the stream went to the map");
    let tail = m.owner(&raw_key(1, 0)).expect("a tail owns the stream");
    assert_eq!(m.tails[tail].entries.len(), 5000);
    // The stream's tail stops below the map's first key.
    assert!(m.tails[tail].limit.as_deref() <= m.map.keys().next().map(|k| &k[..]));
    check_part(&m);
}

#[test]
fn a_record_sorting_high_keeps_no_stream_out_of_the_tails() {
    // A commit record (high first byte) in the map, then a load's row heads below it.
    let mut m = LayerMap::default();
    m.insert(raw_key(0x10, 1), None);
    m.insert(raw_key(0x10, 0), None);
    for n in 0..3000 {
        m.insert(raw_key(2, n), None);
    }
    let (_, heads) = m
        .parts
        .iter()
        .find(|(c, _)| *c == 2)
        .expect("a part for the heads");
    assert!(heads.map.is_empty(), "the row heads went to the map");
    assert_eq!(m.parts.len(), 2);
    check_invariants(&m);
}

#[test]
fn streams_below_and_random_keys_above_agree_with_a_model() {
    for seed in 1..8 {
        let mut next = [0u64; 3];
        run(seed, 4000, |rng| match rng.below(4) {
            // Random keys of the highest prefix (index entries).
            0 => key(4, rng.below(3000)),
            // Streams under lower prefixes (history, heads), now and then starting over
            // inside what they wrote (a second round of updates).
            _ => {
                let s = rng.below(3) as usize;
                if rng.below(500) == 0 {
                    next[s] = rng.below(next[s] + 1);
                }
                next[s] += 1;
                key(s as u8, next[s])
            }
        });
    }
}
