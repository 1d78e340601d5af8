//! An external sort of byte-string keys with a byte payload each, within a query's memory
//! budget: CREATE INDEX orders the entries of an existing table with it, then writes them in
//! key order.
//!
//! The pairs live in one byte arena, each described by a small slot (where its bytes are,
//! and the key's first eight bytes as a big-endian number), and the sort moves only slots:
//! most comparisons end at the numbers, the rest compare the two keys' bytes in the arena.
//! A million index entries cost two allocations that grow, not a few per entry (the general
//! [`super::spill::Sorter`] holds values: a key and a payload list per entry, which made
//! allocation and glibc's consolidation a quarter of an index build's sort). Past the budget
//! the sorted slots are written as a run to a temporary file (`len ‖ key ‖ len ‖ payload`
//! records); [`ByteSorter::finish`] merges the runs and what is still in memory.

use super::memory::{QueryMemory, Reservation};
use super::spill::{hold_for_sort, spill_file};
use crate::error::{Error, Result};
use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Buffer of each temporary file's reader and writer.
const FILE_BUFFER: usize = 64 * 1024;

/// One pair in the arena.
#[derive(Clone, Copy)]
struct Slot {
    /// The key's first eight bytes, big-endian, zero-padded: orders keys that differ there.
    prefix: u64,
    /// Where the key starts in the arena; the payload follows it.
    start: usize,
    key_len: u32,
    payload_len: u32,
}

/// Bytes of the budget a pair holds beyond its own bytes.
const SLOT_BYTES: usize = std::mem::size_of::<Slot>();

fn prefix_of(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(b)
}

fn io_error(e: std::io::Error) -> Error {
    Error::Io(std::io::Error::new(
        e.kind(),
        format!("cannot use the index build's temporary file: {e}"),
    ))
}

/// Collects (key, payload) pairs; [`ByteSorter::finish`] returns them ordered by key
/// (bytewise), pairs with equal keys in the order they were pushed.
pub struct ByteSorter<'e> {
    arena: Vec<u8>,
    slots: Vec<Slot>,
    reservation: Reservation<'e>,
    /// Bytes held beyond the budget, up to the sorters' floor (so runs have some length
    /// even when the budget is spent).
    unreserved: usize,
    /// Runs written so far, in input order.
    runs: Vec<File>,
}

impl<'e> ByteSorter<'e> {
    /// A sorter holding at most `memory`'s budget in memory.
    pub fn new(memory: &'e QueryMemory) -> Self {
        ByteSorter {
            arena: Vec::new(),
            slots: Vec::new(),
            reservation: Reservation::new(memory),
            unreserved: 0,
            runs: Vec::new(),
        }
    }

    /// Adds a pair.
    pub fn push(&mut self, key: Vec<u8>, payload: Vec<u8>) -> Result<()> {
        self.push_slices(&key, &payload)
    }

    /// Adds a pair without taking ownership of its bytes.
    pub fn push_slices(&mut self, key: &[u8], payload: &[u8]) -> Result<()> {
        let too_long = |n: usize| u32::try_from(n).is_err();
        if too_long(key.len()) || too_long(payload.len()) {
            return Err(Error::LimitExceeded(
                "an index entry longer than 4 GiB".into(),
            ));
        }
        let len = key.len() + payload.len();
        if !self.make_room(len) {
            self.spill_run()?;
            if !self.make_room(len) {
                return Err(self
                    .reservation
                    .memory()
                    .exceeded("one entry of an index build"));
            }
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(key);
        self.arena.extend_from_slice(payload);
        self.slots.push(Slot {
            prefix: prefix_of(key),
            start,
            key_len: key.len() as u32,
            payload_len: payload.len() as u32,
        });
        Ok(())
    }

    /// Makes room for a pair of `len` bytes and its slot, growing the two vectors (each to
    /// twice its size) when they are full. The budget is charged for what the vectors
    /// allocate, not for what they hold: a doubled vector is up to twice its contents.
    fn make_room(&mut self, len: usize) -> bool {
        let grown = |n: usize, cap: usize, add: usize| {
            (n + add > cap).then(|| (cap * 2).max(n + add).max(4096))
        };
        let arena = grown(self.arena.len(), self.arena.capacity(), len);
        let slots = grown(self.slots.len(), self.slots.capacity(), 1);
        let bytes = arena.map_or(0, |c| c - self.arena.capacity())
            + slots.map_or(0, |c| (c - self.slots.capacity()) * SLOT_BYTES);
        if bytes > 0 && !hold_for_sort(&mut self.reservation, &mut self.unreserved, bytes) {
            return false;
        }
        if let Some(c) = arena {
            self.arena.reserve_exact(c - self.arena.len());
        }
        if let Some(c) = slots {
            self.slots.reserve_exact(c - self.slots.len());
        }
        true
    }

    /// Sorts the slots (stable: equal keys stay in input order).
    fn sort(&mut self) {
        let arena = &self.arena;
        self.slots.sort_by(|a, b| compare(arena, a, b));
    }

    /// Writes what is in memory out as one sorted run.
    fn spill_run(&mut self) -> Result<()> {
        if self.slots.is_empty() {
            return Ok(());
        }
        self.sort();
        let file = spill_file(self.reservation.memory())?;
        let mut out = BufWriter::with_capacity(FILE_BUFFER, file);
        for s in &self.slots {
            let (key, payload) = pair(&self.arena, s);
            write_record(&mut out, key, payload).map_err(io_error)?;
        }
        let mut file = out.into_inner().map_err(|e| io_error(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        self.runs.push(file);
        // Freed with their share of the budget, which others may take meanwhile.
        self.slots = Vec::new();
        self.arena = Vec::new();
        self.reservation.clear();
        self.unreserved = 0;
        Ok(())
    }

    /// Ends the input.
    pub fn finish(mut self) -> Result<SortedBytes<'e>> {
        self.sort();
        let mut sources: Vec<Source> = std::mem::take(&mut self.runs)
            .into_iter()
            .map(|f| Source::Run(BufReader::with_capacity(FILE_BUFFER, f)))
            .collect();
        let slots = std::mem::take(&mut self.slots);
        sources.push(Source::Memory(InMemory {
            arena: std::mem::take(&mut self.arena),
            slots: slots.into_iter(),
            gathered: Vec::new(),
            lengths: std::collections::VecDeque::with_capacity(GATHER),
            at: 0,
        }));
        Ok(SortedBytes {
            sources,
            heads: Vec::new(),
            started: false,
            _reservation: self.reservation,
        })
    }
}

fn pair<'a>(arena: &'a [u8], s: &Slot) -> (&'a [u8], &'a [u8]) {
    let key_end = s.start + s.key_len as usize;
    (
        &arena[s.start..key_end],
        &arena[key_end..key_end + s.payload_len as usize],
    )
}

fn compare(arena: &[u8], a: &Slot, b: &Slot) -> Ordering {
    a.prefix
        .cmp(&b.prefix)
        .then_with(|| pair(arena, a).0.cmp(pair(arena, b).0))
}

fn write_record(out: &mut impl Write, key: &[u8], payload: &[u8]) -> std::io::Result<()> {
    out.write_all(&(key.len() as u32).to_le_bytes())?;
    out.write_all(key)?;
    out.write_all(&(payload.len() as u32).to_le_bytes())?;
    out.write_all(payload)
}

/// Reads one record; `None` at the end of the run.
fn read_record(input: &mut impl Read) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io_error(e)),
    }
    let key = read_bytes(input, u32::from_le_bytes(len))?;
    input.read_exact(&mut len).map_err(io_error)?;
    let payload = read_bytes(input, u32::from_le_bytes(len))?;
    Ok(Some((key, payload)))
}

fn read_bytes(input: &mut impl Read, n: u32) -> Result<Vec<u8>> {
    let mut v = vec![0u8; n as usize];
    input.read_exact(&mut v).map_err(io_error)?;
    Ok(v)
}

/// Pairs the in-memory source copies out of the arena at a time, in sorted order, unless
/// they reach [`GATHER_BYTES`] first (the buffer is outside the sort's budget: long keys must
/// not make it large).
const GATHER: usize = 1024;
/// Bytes past which a gathering stops (after at least one pair).
const GATHER_BYTES: usize = 64 * 1024;

/// The sorted pairs still in memory, read through a small buffer: sorted order visits the
/// arena at random, and a copy a pair, in between the index build's work on each one, waited
/// for each cache miss in turn (the copy out of the arena was a tenth of a `CREATE INDEX` of
/// 100,000 rows). A tight loop copying [`GATHER`] pairs keeps many misses in flight at once.
struct InMemory {
    arena: Vec<u8>,
    slots: std::vec::IntoIter<Slot>,
    /// Pairs gathered in order, `key ‖ payload` each, and their lengths.
    gathered: Vec<u8>,
    lengths: std::collections::VecDeque<(usize, usize)>,
    /// Where the next pair to hand out starts in `gathered`.
    at: usize,
}

impl InMemory {
    fn next(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        if self.lengths.is_empty() {
            self.gathered.clear();
            self.at = 0;
            while self.lengths.len() < GATHER && self.gathered.len() < GATHER_BYTES {
                let Some(s) = self.slots.next() else { break };
                let (k, p) = pair(&self.arena, &s);
                self.gathered.extend_from_slice(k);
                self.gathered.extend_from_slice(p);
                self.lengths.push_back((k.len(), p.len()));
            }
        }
        let (k, p) = self.lengths.pop_front()?;
        let key = self.gathered[self.at..self.at + k].to_vec();
        let payload = self.gathered[self.at + k..self.at + k + p].to_vec();
        self.at += k + p;
        Some((key, payload))
    }
}

/// One input of the merge.
enum Source {
    Run(BufReader<File>),
    Memory(InMemory),
}

impl Source {
    fn next(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        match self {
            Source::Run(r) => read_record(r),
            Source::Memory(m) => Ok(m.next()),
        }
    }
}

/// The pairs of a [`ByteSorter`], in key order.
pub struct SortedBytes<'e> {
    /// Runs in input order, then what stayed in memory (the latest input).
    sources: Vec<Source>,
    heads: Vec<Option<(Vec<u8>, Vec<u8>)>>,
    started: bool,
    /// The in-memory pairs' share of the budget, held until they are read.
    _reservation: Reservation<'e>,
}

impl SortedBytes<'_> {
    /// The next pair.
    pub fn next_pair(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if self.sources.len() == 1 {
            return self.sources[0].next();
        }
        if !self.started {
            self.started = true;
            self.heads = self
                .sources
                .iter_mut()
                .map(Source::next)
                .collect::<Result<_>>()?;
        }
        // A linear pick: there are few runs (each holds a budget's worth of entries).
        let mut best: Option<usize> = None;
        for (i, h) in self.heads.iter().enumerate() {
            let Some((k, _)) = h else { continue };
            best = match best {
                // Strictly less: among equal keys the earlier source wins (stability).
                Some(b) if self.heads[b].as_ref().is_some_and(|(bk, _)| k >= bk) => Some(b),
                _ => Some(i),
            };
        }
        let Some(b) = best else { return Ok(None) };
        let next = self.sources[b].next()?;
        Ok(std::mem::replace(&mut self.heads[b], next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut sorted: SortedBytes<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(p) = sorted.next_pair().unwrap() {
            out.push(p);
        }
        out
    }

    /// Pairs whose keys repeat and share long prefixes (so the slot numbers tie often), and
    /// the order a stable sort gives them.
    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    fn input(n: u32) -> (Pairs, Pairs) {
        let pairs: Pairs = (0..n)
            .map(|i| {
                let v = i.wrapping_mul(2_654_435_761) % 5_000;
                let mut k = b"shared-prefix:".to_vec();
                k.extend_from_slice(&v.to_be_bytes());
                // Some keys are a prefix of others, and some are shorter than eight bytes.
                match v % 7 {
                    0 => k.truncate(15),
                    1 => k = v.to_be_bytes()[2..].to_vec(),
                    _ => {}
                }
                (k, i.to_be_bytes().to_vec())
            })
            .collect();
        let mut want = pairs.clone();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        (pairs, want)
    }

    #[test]
    fn sorts_bytewise_and_keeps_equal_keys_in_input_order_in_memory() {
        let memory = QueryMemory::unlimited();
        let mut s = ByteSorter::new(&memory);
        let (pairs, want) = input(20_000);
        for (k, p) in &pairs {
            s.push_slices(k, p).unwrap();
        }
        assert_eq!(drain(s.finish().unwrap()), want);
        assert_eq!(memory.spill_files(), 0);
    }

    #[test]
    fn sorts_bytewise_and_keeps_equal_keys_in_input_order_when_spilling() {
        // A budget of a few KiB leaves the sorter its floor of 1 MiB: 60,000 entries of
        // about 50 bytes make three runs.
        let memory = QueryMemory::new(4096, None);
        let mut s = ByteSorter::new(&memory);
        let (pairs, want) = input(60_000);
        for (k, p) in pairs {
            s.push(k, p).unwrap();
        }
        assert_eq!(drain(s.finish().unwrap()), want);
        assert!(memory.spill_files() >= 2, "the sort never spilled");
    }

    #[test]
    fn long_keys_come_out_sorted_a_few_at_a_time() {
        // Keys of 40 KiB: the copy out of the arena stops at its byte bound after two.
        let memory = QueryMemory::unlimited();
        let mut s = ByteSorter::new(&memory);
        let mut want = Vec::new();
        for i in [5u8, 1, 4, 2, 3, 0] {
            let key = vec![i; 40 * 1024];
            s.push_slices(&key, &[i]).unwrap();
            want.push((key, vec![i]));
        }
        want.sort();
        assert_eq!(drain(s.finish().unwrap()), want);
    }

    #[test]
    fn empty_input_and_empty_keys() {
        let memory = QueryMemory::unlimited();
        assert!(drain(ByteSorter::new(&memory).finish().unwrap()).is_empty());
        let mut s = ByteSorter::new(&memory);
        s.push(b"b".to_vec(), Vec::new()).unwrap();
        s.push(Vec::new(), b"x".to_vec()).unwrap();
        s.push(b"\0".to_vec(), Vec::new()).unwrap();
        let keys: Vec<Vec<u8>> = drain(s.finish().unwrap())
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(keys, vec![b"".to_vec(), b"\0".to_vec(), b"b".to_vec()]);
    }
}
