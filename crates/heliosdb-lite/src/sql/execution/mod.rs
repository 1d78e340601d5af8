//! The executor: pull-based operators that stream rows through a plan.
//!
//! # Model
//!
//! A plan ([`Plan`]) is opened into a tree of operators, one per plan node, each in its own
//! file here. An operator hands out one row per call of [`Operator::next`] and pulls from its
//! inputs only as far as it needs to: a pipeline of scans, filters, projections and joins holds
//! one row per operator, a LIMIT stops the scans below it, and only the operators that must
//! see all their input before answering (sort, aggregation, the build side of a hash join,
//! DISTINCT's set of seen rows) keep state proportional to it.
//!
//! # Frames
//!
//! An expression is evaluated against a [`Frame`]: the current row plus the chain of enclosing
//! rows. A correlated subquery reads the row it is evaluated for as its enclosing row
//! (`Expr::Outer { depth: 1 }`), and the inner side of an index nested-loop join reads the
//! joined row so far the same way, which is how a key lookup takes its value from the outer
//! side. The enclosing frame is passed to every `next` call rather than stored, so an operator
//! never borrows a row it does not own; it stays the same between two [`Operator::rewind`]s.
//!
//! # Joins
//!
//! A query over several relations works on one row layout, fixed by the FROM clause: each
//! relation has its slot of columns, whatever order the planner joins them in. The first
//! relation of the join order is placed into a row of the full width ([`place`]); each join
//! fills the next relation's slot. So WHERE, ON and the select list are bound once, against
//! that layout, and the join order is free.

mod accumulator;
mod aggregate;
mod buffered;
mod byte_sort;
pub mod computed;
pub mod covering;
mod distinct;
pub(crate) mod expr;
mod filter;
mod group_table;
mod hash_join;
mod keys;
mod limit;
mod materialize;
mod memory;
mod nested_loop_join;
mod numeric_sum;
mod outer_join;
mod place;
mod profile;
mod project;
mod recursive;
mod scan;
mod set_op;
mod sliding_extreme;
mod sort;
mod sparse_row;
mod spill;
mod spool;
pub(crate) use scan::index_entry_row_key;
pub(crate) use spool::Spool;
mod subquery;
mod table_function;
mod values;
mod window;

pub use buffered::BufferedRows;
pub use byte_sort::{ByteSorter, SortedBytes};
pub use keys::row_key;
pub use memory::QueryMemory;
pub use profile::{NodeStats, Profile};
pub use spill::{clear_spill_folder, SPILL_FOLDER};
pub use subquery::StatementAnswers;

use super::functions::FnEnv;
use super::plan::{Expr, JoinKind, Plan, Source};
use super::value::{Affinity, Value};
use crate::error::{Error, Result};
use crate::mvcc::{Snapshot, Transaction};
use crate::storage::{Bytes, Direction, KeyRange, KvPair};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A result row.
pub type Row = Vec<Value>;

/// The current row and the rows enclosing it.
#[derive(Clone, Copy)]
pub struct Frame<'a> {
    /// Current row.
    pub row: &'a [Value],
    /// Enclosing frame.
    pub parent: Option<&'a Frame<'a>>,
}

impl<'a> Frame<'a> {
    /// A frame with no enclosing rows.
    pub fn root(row: &'a [Value]) -> Self {
        Frame { row, parent: None }
    }
}

/// Where plan scans read.
pub struct Reader<'a> {
    /// The statement's transaction.
    pub txn: &'a Transaction,
    /// Historical snapshots of the statement, indexed by [`Source::Snapshot`].
    pub snapshots: &'a [Snapshot],
}

type KvIter<'a> = Box<dyn Iterator<Item = Result<KvPair>> + 'a>;

impl<'a> Reader<'a> {
    fn get(&self, source: Source, key: &[u8]) -> Result<Option<Bytes>> {
        match source {
            Source::Current => self.txn.get(key),
            Source::Snapshot(i) => self.snapshot(i)?.get(key),
        }
    }

    fn scan(&self, source: Source, range: KeyRange, dir: Direction) -> Result<KvIter<'a>> {
        Ok(match source {
            Source::Current => Box::new(self.txn.scan(range, dir)),
            Source::Snapshot(i) => Box::new(self.snapshot(i)?.scan(range, dir)),
        })
    }

    /// The live row count of the key group `prefix`, when a maintained counter answers it.
    fn live_count(&self, source: Source, prefix: &[u8]) -> Result<Option<i64>> {
        match source {
            Source::Current => self.txn.live_count(prefix),
            Source::Snapshot(i) => self.snapshot(i)?.live_count(prefix),
        }
    }

    fn snapshot(&self, i: usize) -> Result<&'a Snapshot> {
        self.snapshots
            .get(i)
            .ok_or_else(|| Error::invalid("internal: unknown snapshot in plan"))
    }
}

/// How a connection's statements can be stopped: a flag another thread sets
/// ([`crate::Connection::interrupt`]), and the configured statement timeout.
#[derive(Debug, Default, Clone)]
pub struct StatementLimits {
    /// Set to cancel the running statement; cleared when the next one starts.
    pub interrupt: std::sync::Arc<AtomicBool>,
    /// `statement_timeout_ms`.
    pub timeout_ms: Option<u64>,
    /// Bytes a query's operators may hold before they spill (`None`: no limit).
    pub memory_bytes: Option<usize>,
    /// Where queries spill (`None`: the system's temporary directory).
    pub spill_dir: Option<std::path::PathBuf>,
    /// When the running statement started (its timeout counts from there, however many
    /// executors it uses).
    pub started: Option<std::time::Instant>,
}

impl StatementLimits {
    /// Notes that a statement starts now, if a timeout needs to know: reading the clock
    /// costs a few percent of a prepared insert.
    pub fn mark_start(&mut self) {
        self.started = self.timeout_ms.map(|_| std::time::Instant::now());
    }

    /// When the statement times out, and its timeout; the clock is read only for a statement
    /// that has one.
    fn deadline(&self) -> Option<(std::time::Instant, u64)> {
        self.timeout_ms.map(|ms| {
            let started = self.started.unwrap_or_else(std::time::Instant::now);
            (started + std::time::Duration::from_millis(ms), ms)
        })
    }

    /// [`Executor`]'s check for loops outside any operator, such as the writes of an UPDATE
    /// or DELETE after its target rows were gathered (see [`check_limits`]).
    pub fn tick(&self, counter: &mut usize) -> Result<()> {
        tick(counter, || {
            check_limits(Some(&self.interrupt), self.deadline())
        })
    }
}

/// Fails if the statement was interrupted (`interrupt` set from another thread) or is past
/// its deadline.
fn check_limits(
    interrupt: Option<&AtomicBool>,
    deadline: Option<(std::time::Instant, u64)>,
) -> Result<()> {
    if interrupt.is_some_and(|flag| flag.load(Ordering::Relaxed)) {
        return Err(Error::Interrupted);
    }
    match deadline {
        Some((at, ms)) if std::time::Instant::now() >= at => Err(Error::StatementTimeout(ms)),
        _ => Ok(()),
    }
}

/// Counts one more row of a loop in `counter` and, every 1,024 rows, runs `check` (often
/// enough to stop promptly, rarely enough to cost nothing).
fn tick(counter: &mut usize, check: impl FnOnce() -> Result<()>) -> Result<()> {
    *counter += 1;
    if *counter % 1024 == 0 {
        check()
    } else {
        Ok(())
    }
}

/// One operator of a running plan.
pub trait Operator {
    /// The next row, or `None` when the input is exhausted. `outer` is the enclosing frame;
    /// it must stay the same until the next [`Operator::rewind`].
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>>;
    /// Starts over, for a new enclosing row.
    fn rewind(&mut self);
}

/// An opened operator borrowing the executor for `'e`.
pub type BoxOp<'e> = Box<dyn Operator + 'e>;

/// Runs plans and evaluates expressions for one statement.
pub struct Executor<'a> {
    reader: Option<Reader<'a>>,
    params: &'a [Value],
    env: &'a dyn FnEnv,
    /// Results of uncorrelated subqueries and materialised relations, by plan id.
    cache: RefCell<HashMap<usize, Rc<Vec<Row>>>>,
    /// Subquery answers by plan id and correlation values.
    subquery_cache: RefCell<subquery::SubqueryCache>,
    defaults: RefCell<HashMap<(u32, usize), Value>>,
    interrupt: Option<&'a AtomicBool>,
    /// When the statement must stop, and its limit in milliseconds (for the error).
    deadline: Option<(std::time::Instant, u64)>,
    /// EXPLAIN ANALYZE: where operators record their rows and time.
    profile: Option<&'a Profile>,
    /// What the statement's operators may hold in memory.
    memory: QueryMemory,
}

/// Evaluates an expression that reads no table (time-travel points, LIMIT, defaults).
pub fn eval_standalone(e: &Expr, params: &[Value], env: &dyn FnEnv) -> Result<Value> {
    Executor::new(None, params, env).eval(e, &Frame::root(&[]))
}

impl<'a> Executor<'a> {
    /// Creates an executor; without a reader, plans and subqueries cannot run.
    pub fn new(reader: Option<Reader<'a>>, params: &'a [Value], env: &'a dyn FnEnv) -> Self {
        Self {
            reader,
            params,
            env,
            cache: RefCell::new(HashMap::new()),
            subquery_cache: RefCell::new(subquery::SubqueryCache::default()),
            defaults: RefCell::new(HashMap::new()),
            interrupt: None,
            deadline: None,
            profile: None,
            memory: QueryMemory::unlimited(),
        }
    }

    /// Makes long-running operators stop with [`Error::Interrupted`] once `limits`' flag is
    /// set (from another thread), and with [`Error::StatementTimeout`] past its timeout.
    pub fn with_limits(mut self, limits: &'a StatementLimits) -> Self {
        self.interrupt = Some(&limits.interrupt);
        self.deadline = limits.deadline();
        if let Some(bytes) = limits.memory_bytes {
            self.memory = QueryMemory::new(bytes, limits.spill_dir.clone());
        }
        self
    }

    /// The statement's memory budget.
    pub fn memory(&self) -> &QueryMemory {
        &self.memory
    }

    /// Makes every operator record its rows and time in `profile` (EXPLAIN ANALYZE).
    pub fn with_profile(mut self, profile: &'a Profile) -> Self {
        self.profile = Some(profile);
        self
    }

    fn reader(&self) -> Result<&Reader<'a>> {
        self.reader
            .as_ref()
            .ok_or_else(|| Error::invalid("subqueries are not allowed here"))
    }

    /// Fails if the statement was interrupted; operators call it every few hundred rows.
    fn check_interrupt(&self) -> Result<()> {
        check_limits(self.interrupt, self.deadline)
    }

    /// Counts one more row of an operator's loop in `counter` and, every 1,024 rows, checks
    /// for an interrupt or timeout (often enough to stop promptly, rarely enough to cost
    /// nothing).
    fn tick(&self, counter: &mut usize) -> Result<()> {
        tick(counter, || self.check_interrupt())
    }

    /// Runs a plan to completion; `parent` is the enclosing row (correlated subqueries,
    /// triggers).
    pub fn run(&self, plan: &Plan, parent: Option<&Frame<'_>>) -> Result<Vec<Row>> {
        let mut op = self.open(plan)?;
        let mut out = Vec::new();
        while let Some(row) = op.next(parent)? {
            out.push(row);
        }
        Ok(out)
    }

    /// Runs a plan to its end, keeping its first rows in memory (up to `in_memory` bytes)
    /// and writing the rest to a temporary file in the statement's spill folder, which the
    /// returned [`Spool`] reads back: a large result need not fit in memory.
    pub(crate) fn run_spooled(&self, plan: &Plan, in_memory: usize) -> Result<Spool> {
        let mut op = self.open(plan)?;
        let mut rows = Vec::new();
        let mut held = 0;
        while held <= in_memory {
            let Some(row) = op.next(None)? else {
                return Ok(Spool::new(rows, None));
            };
            held += memory::row_bytes(&row);
            rows.push(row);
        }
        let mut file = spill::SpillWriter::create(self.memory())?;
        while let Some(row) = op.next(None)? {
            file.write(&[], &row)?;
        }
        Ok(Spool::new(rows, Some(file.finish()?)))
    }

    /// Opens a plan into its operator tree.
    pub fn open<'e>(&'e self, plan: &'e Plan) -> Result<BoxOp<'e>> {
        let op = self.open_node(plan)?;
        Ok(self.profiled(plan, op))
    }

    /// Wraps the operator built for `plan` so that it records its rows and time, when the
    /// statement is profiled.
    fn profiled<'e>(&'e self, plan: &'e Plan, op: BoxOp<'e>) -> BoxOp<'e> {
        match self.profile {
            Some(profile) => profile::ProfileOp::wrap(op, profile, plan),
            None => op,
        }
    }

    fn open_node<'e>(&'e self, plan: &'e Plan) -> Result<BoxOp<'e>> {
        // Executor is covariant in its lifetime: operators borrow it for 'e only.
        let ex: &'e Executor<'e> = self;
        Ok(match plan {
            Plan::Scan(node) => Box::new(scan::ScanOp::new(ex, node)),
            Plan::Values(rows) => Box::new(values::ValuesOp::new(ex, rows)),
            Plan::TableFunction { function, args } => Box::new(
                table_function::TableFunctionOp::new(ex, function.clone(), args),
            ),
            Plan::Filter(input, pred) => {
                // Over an aggregate it is a HAVING: SQLite computes the groups even when a
                // constant term there is false (an overflowing sum() then fails).
                let gated = !matches!(**input, Plan::Aggregate { .. });
                Box::new(filter::FilterOp::new(ex, ex.open(input)?, pred, gated))
            }
            Plan::Project(input, exprs) => {
                Box::new(project::ProjectOp::new(ex, ex.open(input)?, exprs))
            }
            Plan::Place {
                input,
                offset,
                width,
            } => Box::new(place::PlaceOp::new(ex.open(input)?, *offset, *width)),
            Plan::Join(join) if matches!(join.kind, JoinKind::Right | JoinKind::Full) => {
                let (left_keys, right_keys) = match &join.algorithm {
                    super::plan::JoinAlgorithm::Hash {
                        left_keys,
                        right_keys,
                        ..
                    } => (left_keys.as_slice(), right_keys.as_slice()),
                    _ => (&[][..], &[][..]),
                };
                Box::new(outer_join::OuterJoinOp::new(
                    ex,
                    ex.open(&join.left)?,
                    &join.right,
                    join,
                    left_keys,
                    right_keys,
                ))
            }
            Plan::Join(join) => match &join.algorithm {
                super::plan::JoinAlgorithm::Hash {
                    left_keys,
                    right_keys,
                    build_left,
                } => Box::new(hash_join::HashJoinOp::new(
                    ex,
                    ex.open(&join.left)?,
                    &join.right,
                    join,
                    (left_keys, right_keys),
                    *build_left,
                )),
                _ => Box::new(nested_loop_join::NestedLoopJoinOp::new(
                    ex,
                    ex.open(&join.left)?,
                    ex.open(&join.right)?,
                    join,
                )),
            },
            Plan::Aggregate {
                input,
                group_by,
                aggregates,
                input_row,
            } => aggregate::open(ex, input, group_by, aggregates, *input_row)?,
            Plan::Sort(input, keys) => Box::new(sort::SortOp::new(ex, ex.open(input)?, keys, None)),
            Plan::Limit {
                input,
                limit,
                offset,
            } => {
                // ORDER BY ... LIMIT: the sort keeps only the rows the limit can return.
                let sort_under_limit = |sorted: &'e Plan, keys| -> Result<BoxOp<'e>> {
                    let (input, cutoff) = sort::open_top_n_input(ex, sorted, keys)?;
                    Ok(Box::new(
                        sort::SortOp::new(ex, input, keys, Some((limit.as_ref(), offset.as_ref())))
                            .with_cutoff(cutoff),
                    ))
                };
                let inner = match input.as_ref() {
                    Plan::Sort(sorted, keys) => ex.profiled(input, sort_under_limit(sorted, keys)?),
                    Plan::Project(p, exprs) => match p.as_ref() {
                        Plan::Sort(sorted, keys) => {
                            let sort = ex.profiled(p, sort_under_limit(sorted, keys)?);
                            ex.profiled(input, Box::new(project::ProjectOp::new(ex, sort, exprs)))
                        }
                        _ => ex.open(input)?,
                    },
                    _ => ex.open(input)?,
                };
                Box::new(limit::LimitOp::new(
                    ex,
                    inner,
                    limit.as_ref(),
                    offset.as_ref(),
                ))
            }
            Plan::Distinct(input) => Box::new(distinct::DistinctOp::new(ex, ex.open(input)?)),
            Plan::SetOperation {
                op,
                all,
                collations,
                left,
                right,
            } => Box::new(set_op::SetOpOp::new(ex, *op, *all, collations, left, right)),
            Plan::Materialize { id, input, .. } => {
                Box::new(materialize::MaterializeOp::new(ex, *id, input))
            }
            Plan::Window { input, calls } => {
                Box::new(window::WindowOp::new(ex, ex.open(input)?, calls))
            }
            Plan::Recursive {
                working,
                initial,
                step,
                distinct,
                collations,
            } => Box::new(recursive::RecursiveOp::new(
                ex, *working, initial, step, *distinct, collations,
            )),
        })
    }
}

/// The value of a LIMIT or OFFSET expression (negative: no limit). NULL is an error, as
/// in SQLite ("datatype mismatch"), not "no limit".
fn limit_value(v: &Value, what: &str) -> Result<i64> {
    match v.clone().apply_affinity(Affinity::Numeric) {
        Value::Integer(i) => Ok(i),
        other => Err(Error::TypeMismatch(format!(
            "{what} must be an integer, got {other}"
        ))),
    }
}

/// Evaluates LIMIT and OFFSET: how many rows to skip, and how many to return after that
/// (`None`: all).
fn limit_offset(
    ex: &Executor<'_>,
    limit: Option<&Expr>,
    offset: Option<&Expr>,
    outer: Option<&Frame<'_>>,
) -> Result<(usize, Option<usize>)> {
    let f = Frame {
        row: &[],
        parent: outer,
    };
    let lim = match limit {
        Some(e) => limit_value(&ex.eval(e, &f)?, "LIMIT")?,
        None => -1,
    };
    let off = match offset {
        Some(e) => limit_value(&ex.eval(e, &f)?, "OFFSET")?.max(0),
        None => 0,
    };
    let off = usize::try_from(off).unwrap_or(usize::MAX);
    Ok((off, usize::try_from(lim).ok()))
}
