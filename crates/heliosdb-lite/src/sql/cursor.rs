//! A query that streams its rows to the API as they are pulled.
//!
//! The operators of a running plan borrow the executor, and the executor borrows the
//! statement's read transaction, snapshots, parameters and environment. A cursor owns all of
//! those together ([`QueryParts`]) with the executor and the operator tree built on them, so
//! the API can hand rows out one at a time, long after the call that started the query has
//! returned. Only queries outside an explicit transaction are opened this way: such a query
//! reads its own snapshot, so the connection can run other statements (writes too) while the
//! cursor is open, and the cursor keeps reading the state it started at. A query inside a
//! transaction runs to its end when executed and the cursor hands out its spooled rows
//! ([`super::execution::Spool`]).

use super::engine::StmtEnv;
use super::execution::{BoxOp, Executor, Reader, Row, Spool, StatementLimits};
use super::plan::Plan;
use super::value::Value;
use crate::error::Result;
use crate::mvcc::{Snapshot, Transaction};
use self_cell::self_cell;
use std::sync::Arc;

/// What a running query reads and evaluates with, owned by its cursor.
pub(crate) struct QueryParts {
    /// The read-only transaction: the snapshot of current data.
    pub txn: Transaction,
    /// Historical snapshots of the statement's `AS OF` clauses.
    pub snapshots: Vec<Snapshot>,
    /// Bound parameter values.
    pub params: Vec<Value>,
    /// Function environment (clock, SCN functions).
    pub env: StmtEnv,
    /// The plan.
    pub plan: Arc<Plan>,
    /// Interrupt flag, timeout and memory budget.
    pub limits: StatementLimits,
}

type ExecutorOf<'a> = Executor<'a>;

self_cell!(
    /// The parts and the executor that borrows them.
    struct ExecutorCell {
        owner: QueryParts,
        #[covariant]
        dependent: ExecutorOf,
    }
);

type OperatorOf<'a> = BoxOp<'a>;

self_cell!(
    /// The executor and the operator tree that borrows it.
    struct RunningCell {
        owner: ExecutorCell,
        #[covariant]
        dependent: OperatorOf,
    }
);

/// A running query whose rows are pulled one at a time.
pub struct Cursor {
    source: Source,
    done: bool,
}

/// Where a cursor's rows come from.
enum Source {
    /// A plan running on its own snapshot.
    Running(Box<RunningCell>),
    /// The rows of a query that already ran (inside a transaction).
    Spooled(Spool),
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Cursor {
    /// Opens the plan of `parts` (no row is read yet).
    pub(crate) fn open(parts: QueryParts) -> Result<Self> {
        let exec = ExecutorCell::new(parts, |p| {
            Executor::new(
                Some(Reader {
                    txn: &p.txn,
                    snapshots: &p.snapshots,
                }),
                &p.params,
                &p.env,
            )
            .with_limits(&p.limits)
        });
        let running = RunningCell::try_new(exec, |cell| {
            cell.borrow_dependent().open(&cell.borrow_owner().plan)
        })?;
        Ok(Self {
            source: Source::Running(Box::new(running)),
            done: false,
        })
    }

    /// A cursor over the rows of a query that already ran.
    pub(crate) fn spooled(spool: Spool) -> Self {
        Self {
            source: Source::Spooled(spool),
            done: false,
        }
    }

    /// The next row; `None` once the query is exhausted, and after an error.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Row>> {
        if self.done {
            return Ok(None);
        }
        let r = match &mut self.source {
            Source::Running(running) => running.with_dependent_mut(|_, op| op.next(None)),
            Source::Spooled(spool) => spool.next_row(),
        };
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
        }
        r
    }
}
