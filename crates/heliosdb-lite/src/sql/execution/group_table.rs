//! The hash aggregation's table of groups, laid out so that many groups fit in the budget.
//!
//! A group is its byte key (which decides group membership), its group values (what the
//! output shows: the first row's, as two rows whose values differ in type or under a
//! collation may share a key) and one accumulator per aggregate. Rather than one small
//! allocation per group for each of these, the table keeps them in a few flat vectors
//! indexed by group number: keys back to back in one byte arena, values and accumulators
//! `width` and `aggregates` to a group. The hash index holds only group numbers (4 bytes
//! a slot) and finds a key by comparing it with the arena. About 190 bytes a group for
//! `GROUP BY x` with `count(*), sum(y)`, where a map of vectors took 540.
//!
//! Every vector grows only after the table has reserved the bytes its new capacity takes,
//! so what the table holds stays within its share of the budget. When a doubling does not
//! fit, smaller steps are tried; when none fits, the table is full and the caller spills.

use super::super::value::Value;
use super::accumulator::Accumulator;
use super::memory::{value_bytes, Reservation};
use super::Row;
use hashbrown::HashTable;

/// The smallest number of groups a table makes room for at once.
const FIRST_CAPACITY: usize = 64;

/// The smallest growth of the key arena.
const FIRST_ARENA: usize = 4096;

/// Groups in a flat layout, found by their byte keys.
pub(super) struct GroupTable {
    index: HashTable<u32>,
    /// Every group's key, back to back.
    arena: Vec<u8>,
    /// Where each group's key ends in the arena.
    ends: Vec<usize>,
    /// Each group's values, `width` per group.
    values: Vec<Value>,
    width: usize,
    /// Each group's accumulators, `aggregates` per group.
    accumulators: Vec<Accumulator>,
    aggregates: usize,
    /// Each group's last input row, when the plan asks for it (else empty).
    last: Vec<Option<Row>>,
    keep_last: bool,
    /// Room made for this many groups (all vectors and the index).
    capacity: usize,
    /// Bytes reserved for the fixed part of the layout (vectors at capacity, index).
    layout_bytes: usize,
    /// Heap bytes the groups' values hold beyond their slots (text and blob group values).
    value_heap: usize,
}

/// Bytes a hash index sized for `groups` takes (a power-of-two number of slots at most
/// 7/8 full, each a group number and a control byte).
fn index_bytes(groups: usize) -> usize {
    let slots = if groups < 8 {
        8
    } else {
        (groups * 8 / 7).next_power_of_two()
    };
    slots * (std::mem::size_of::<u32>() + 1) + 16
}

/// The hash a key is indexed by.
fn hash(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}

impl GroupTable {
    /// An empty table for groups of `width` values and `aggregates` accumulators.
    pub(super) fn new(width: usize, aggregates: usize, keep_last: bool) -> Self {
        Self {
            index: HashTable::new(),
            arena: Vec::new(),
            ends: Vec::new(),
            values: Vec::new(),
            width,
            accumulators: Vec::new(),
            aggregates,
            last: Vec::new(),
            keep_last,
            capacity: 0,
            layout_bytes: 0,
            value_heap: 0,
        }
    }

    /// Groups held.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The key of a group.
    pub(super) fn key(&self, group: usize) -> &[u8] {
        let start = if group == 0 { 0 } else { self.ends[group - 1] };
        &self.arena[start..self.ends[group]]
    }

    /// The group whose key is `key`, if held.
    pub(super) fn find(&self, key: &[u8]) -> Option<usize> {
        self.index
            .find(hash(key), |&g| self.key(g as usize) == key)
            .map(|&g| g as usize)
    }

    /// Fixed bytes a group takes in the layout at full capacity.
    fn bytes_per_group(&self) -> usize {
        std::mem::size_of::<usize>()
            + self.width * std::mem::size_of::<Value>()
            + self.aggregates * std::mem::size_of::<Accumulator>()
            + if self.keep_last {
                std::mem::size_of::<Option<Row>>()
            } else {
                0
            }
    }

    /// Layout bytes at a capacity of `groups`.
    fn layout_bytes_for(&self, groups: usize) -> usize {
        groups * self.bytes_per_group() + index_bytes(groups)
    }

    /// Makes room for one more group with a key of `key_len` bytes and `values_heap` bytes
    /// of value heap, reserving the bytes first; false (and nothing changed) if the
    /// reservation has no room for it.
    fn make_room(
        &mut self,
        reservation: &mut Reservation<'_>,
        key_len: usize,
        values_heap: usize,
    ) -> bool {
        if self.arena.len() + key_len > self.arena.capacity() {
            let need = self.arena.len() + key_len;
            let grown = grow_to(reservation, self.arena.capacity(), need, FIRST_ARENA, |c| c);
            match grown {
                Some(c) => self.arena.reserve_exact(c - self.arena.len()),
                None => return false,
            }
        }
        if self.len() == self.capacity {
            let bytes = |c: usize| self.layout_bytes_for(c);
            let Some(c) = grow_to(
                reservation,
                self.capacity,
                self.len() + 1,
                FIRST_CAPACITY,
                bytes,
            ) else {
                return false;
            };
            self.layout_bytes = self.layout_bytes_for(c);
            let more = c - self.len();
            self.ends.reserve_exact(more);
            self.values.reserve_exact(more * self.width);
            self.accumulators.reserve_exact(more * self.aggregates);
            if self.keep_last {
                self.last.reserve_exact(more);
            }
            let (arena, ends) = (&self.arena, &self.ends);
            self.index
                .reserve(more, |&g| hash(self_key(arena, ends, g)));
            self.capacity = c;
        }
        if values_heap > 0 {
            if !reservation.try_grow(values_heap) {
                return false;
            }
            self.value_heap += values_heap;
        }
        true
    }

    /// Adds a group (its key not held yet) with fresh accumulators from `new_accumulator`;
    /// `None` if the reservation has no room for it (the table is full).
    pub(super) fn insert(
        &mut self,
        reservation: &mut Reservation<'_>,
        key: &[u8],
        values: &[Value],
        new_accumulators: impl Iterator<Item = Accumulator>,
    ) -> Option<usize> {
        debug_assert_eq!(values.len(), self.width);
        let heap: usize = values
            .iter()
            .map(|v| value_bytes(v) - std::mem::size_of::<Value>())
            .sum();
        if self.len() >= u32::MAX as usize || !self.make_room(reservation, key.len(), heap) {
            return None;
        }
        let group = self.len();
        self.arena.extend_from_slice(key);
        self.ends.push(self.arena.len());
        self.values.extend_from_slice(values);
        self.accumulators.extend(new_accumulators);
        if self.keep_last {
            self.last.push(None);
        }
        let (arena, ends) = (&self.arena, &self.ends);
        self.index
            .insert_unique(hash(key), group as u32, |&g| hash(self_key(arena, ends, g)));
        Some(group)
    }

    /// A group's accumulators.
    pub(super) fn accumulators_mut(&mut self, group: usize) -> &mut [Accumulator] {
        let n = self.aggregates;
        &mut self.accumulators[group * n..(group + 1) * n]
    }

    /// Keeps `row` as the group's last input row (when the table keeps them).
    pub(super) fn set_last(&mut self, group: usize, row: Row) {
        if self.keep_last {
            self.last[group] = Some(row);
        }
    }

    /// The group's last input row.
    pub(super) fn last(&self, group: usize) -> Option<&Row> {
        self.last.get(group).and_then(Option::as_ref)
    }

    /// The groups in the order of their keys, each as its values, accumulators and last row.
    pub(super) fn into_sorted(self) -> SortedGroups {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.key(a as usize).cmp(self.key(b as usize)));
        SortedGroups {
            order: order.into_iter(),
            table: self,
        }
    }
}

/// The key of group `g` in an arena (a free function, so that the index can rehash while
/// the table's other fields are borrowed).
fn self_key<'a>(arena: &'a [u8], ends: &[usize], g: u32) -> &'a [u8] {
    let g = g as usize;
    let start = if g == 0 { 0 } else { ends[g - 1] };
    &arena[start..ends[g]]
}

/// The first capacity at or above `need` that the reservation can pay for, trying a
/// doubling of `current` (at least `floor`), then smaller steps; `bytes(c)` is what a
/// capacity of `c` takes in all. `None` if not even `need` fits.
fn grow_to(
    reservation: &mut Reservation<'_>,
    current: usize,
    need: usize,
    floor: usize,
    bytes: impl Fn(usize) -> usize,
) -> Option<usize> {
    let held = if current == 0 { 0 } else { bytes(current) };
    let mut step = current.max(floor);
    loop {
        let c = (current + step).max(need);
        if reservation.try_grow(bytes(c).saturating_sub(held)) {
            return Some(c);
        }
        if current + step <= need {
            return None;
        }
        step /= 2;
    }
}

/// A table's groups in key order (see [`GroupTable::into_sorted`]).
pub(super) struct SortedGroups {
    order: std::vec::IntoIter<u32>,
    table: GroupTable,
}

/// One group taken out of a table (or built from the spill) to be finished.
pub(super) struct Group {
    /// Its group values.
    pub(super) values: Row,
    /// Its accumulators.
    pub(super) accumulators: Vec<Accumulator>,
    /// Its last input row, if kept.
    pub(super) last: Option<Row>,
}

impl SortedGroups {
    /// The key of the next group, without taking it.
    pub(super) fn peek_key(&self) -> Option<&[u8]> {
        self.order
            .as_slice()
            .first()
            .map(|&g| self.table.key(g as usize))
    }

    /// Takes the next group.
    pub(super) fn next_group(&mut self) -> Option<Group> {
        let g = self.order.next()? as usize;
        let t = &mut self.table;
        let values = t.values[g * t.width..(g + 1) * t.width]
            .iter_mut()
            .map(std::mem::take)
            .collect();
        let n = t.aggregates;
        let accumulators = t.accumulators[g * n..(g + 1) * n]
            .iter_mut()
            .map(|a| std::mem::replace(a, Accumulator::placeholder()))
            .collect();
        let last = t.last.get_mut(g).and_then(Option::take);
        Some(Group {
            values,
            accumulators,
            last,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::memory::QueryMemory;
    use super::*;
    use crate::sql::plan::{AggFn, Expr};

    fn count_star() -> Expr {
        Expr::Aggregate {
            func: AggFn::CountStar,
            args: Vec::new(),
            distinct: false,
        }
    }

    #[test]
    fn groups_are_found_again_and_come_out_in_key_order() {
        let memory = QueryMemory::unlimited();
        let mut reservation = Reservation::new(&memory);
        let mut table = GroupTable::new(1, 1, false);
        let agg = count_star();
        // Keys inserted in a scrambled order, some of them again.
        for round in 0..2 {
            for i in 0..1000u32 {
                let k = (i * 7919) % 1000;
                let key = k.to_be_bytes();
                let g = match table.find(&key) {
                    Some(g) => {
                        assert_eq!(round, 1, "key {k} found before it was inserted");
                        g
                    }
                    None => table
                        .insert(
                            &mut reservation,
                            &key,
                            &[Value::Integer(i64::from(k))],
                            std::iter::once(Accumulator::new(&agg)),
                        )
                        .expect("room"),
                };
                assert_eq!(table.key(g), key);
                table.accumulators_mut(g)[0].add(Vec::new()).unwrap();
            }
        }
        assert_eq!(table.len(), 1000);
        let mut sorted = table.into_sorted();
        for k in 0..1000i64 {
            let g = sorted.next_group().expect("a group per key");
            assert_eq!(g.values, vec![Value::Integer(k)]);
            let count = g.accumulators.into_iter().next().unwrap().finish().unwrap();
            assert_eq!(count, Value::Integer(2));
        }
        assert!(sorted.next_group().is_none());
    }

    #[test]
    fn the_table_stops_at_its_share_and_has_reserved_what_it_holds() {
        let memory = QueryMemory::new(1 << 20, None);
        let mut reservation = Reservation::with_cap(&memory, 256 << 10);
        let mut table = GroupTable::new(1, 2, false);
        let aggs = [count_star(), count_star()];
        let mut n = 0u64;
        while table
            .insert(
                &mut reservation,
                &n.to_be_bytes(),
                &[Value::Integer(n as i64)],
                aggs.iter().map(Accumulator::new),
            )
            .is_some()
        {
            n += 1;
        }
        // Full within the share, and most of the share used (steps shrink near the cap).
        assert!(memory.peak() <= 256 << 10);
        assert!(
            n as usize * table.bytes_per_group() > 128 << 10,
            "only {n} groups"
        );
        let held = table.arena.capacity()
            + table.ends.capacity() * 8
            + table.values.capacity() * std::mem::size_of::<Value>()
            + table.accumulators.capacity() * std::mem::size_of::<Accumulator>();
        assert!(
            held <= memory.peak(),
            "holds {held}, reserved {}",
            memory.peak()
        );
        // Groups already held are still found when the table is full.
        assert!(table.find(&0u64.to_be_bytes()).is_some());
    }
}
