//! Bound expressions and query plans: the engine's own AST, independent of sqlparser.

use super::catalog::{IndexDef, TableInfo};
use super::collation::Collation;
use super::functions::ScalarFn;
use super::value::{Affinity, Value};
use std::sync::Arc;

mod tables;
pub use tables::relations_computed_once;

/// Binary arithmetic and string operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `||`
    Concat,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator with operands swapped (`a < b` is `b > a`).
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            o => o,
        }
    }
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFn {
    /// `count(*)`
    CountStar,
    /// `count(x)`
    Count,
    /// `sum(x)`
    Sum,
    /// `total(x)`
    Total,
    /// `avg(x)`
    Avg,
    /// `min(x)`
    Min,
    /// `max(x)`
    Max,
    /// `group_concat(x [, sep])`
    GroupConcat,
    /// `json_group_array(x)` (arguments: the value, then its JSON flag; see `planner/json_subtype.rs`)
    JsonGroupArray,
    /// `json_group_object(k, v)` (arguments: label, value, the value's JSON flag)
    JsonGroupObject,
    /// A bare column in an aggregate query: the value from the last row of the group.
    AnyValue,
    /// The value from the first row of the group: what SQLite shows for a grouping term
    /// under NOCASE or RTRIM, whose rows may hold different but equal-collating values.
    First,
}

/// Window functions; aggregates over a window are `Agg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinFn {
    /// `row_number()`
    RowNumber,
    /// `rank()`
    Rank,
    /// `dense_rank()`
    DenseRank,
    /// `percent_rank()`
    PercentRank,
    /// `cume_dist()`
    CumeDist,
    /// `ntile(n)`
    Ntile,
    /// `lag(x [, offset [, default]])`
    Lag,
    /// `lead(x [, offset [, default]])`
    Lead,
    /// `first_value(x)`
    FirstValue,
    /// `last_value(x)`
    LastValue,
    /// `nth_value(x, n)`
    NthValue,
    /// An aggregate over the window frame.
    Agg(AggFn),
}

/// One end of a window frame.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameBound {
    /// `UNBOUNDED PRECEDING`
    UnboundedPreceding,
    /// `n PRECEDING` (ROWS only)
    Preceding(Expr),
    /// `CURRENT ROW`
    CurrentRow,
    /// `n FOLLOWING` (ROWS only)
    Following(Expr),
    /// `UNBOUNDED FOLLOWING`
    UnboundedFollowing,
}

/// What a window frame's offsets count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameUnits {
    /// Rows, by position.
    Rows,
    /// ORDER BY values: the current row's peers count as the current row (offsets are not
    /// supported).
    Range,
    /// Peer groups (rows with equal ORDER BY values).
    Groups,
}

/// Rows a window frame leaves out (`EXCLUDE ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrameExclude {
    /// `EXCLUDE NO OTHERS`, the default: the whole frame.
    #[default]
    NoOthers,
    /// `EXCLUDE CURRENT ROW`
    CurrentRow,
    /// `EXCLUDE GROUP`: the current row and its ORDER BY peers.
    Group,
    /// `EXCLUDE TIES`: the current row's peers, but not the row itself.
    Ties,
}

impl FrameExclude {
    /// True when row `j` of the partition is left out of the frame of row `i`, whose peers
    /// are the rows `first..=last`.
    pub fn leaves_out(self, i: usize, j: usize, first: usize, last: usize) -> bool {
        let peer = (first..=last).contains(&j);
        match self {
            FrameExclude::NoOthers => false,
            FrameExclude::CurrentRow => j == i,
            FrameExclude::Group => peer,
            FrameExclude::Ties => peer && j != i,
        }
    }
}

/// A window function call: the function, its arguments and its window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowCall {
    /// Function.
    pub func: WinFn,
    /// Arguments.
    pub args: Vec<Expr>,
    /// PARTITION BY.
    pub partition_by: Vec<Expr>,
    /// ORDER BY within the partition.
    pub order_by: Vec<SortKey>,
    /// How the frame's bounds count.
    pub units: FrameUnits,
    /// Frame start.
    pub start: FrameBound,
    /// Frame end.
    pub end: FrameBound,
    /// Rows left out of the frame.
    pub exclude: FrameExclude,
}

impl WindowCall {
    /// Every expression of the call.
    pub fn exprs(&self) -> Vec<&Expr> {
        let mut v: Vec<&Expr> = self.args.iter().chain(&self.partition_by).collect();
        v.extend(self.order_by.iter().map(|k| &k.expr));
        for b in [&self.start, &self.end] {
            if let FrameBound::Preceding(e) | FrameBound::Following(e) = b {
                v.push(e);
            }
        }
        v
    }

    /// Every expression of the call, mutably.
    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        let mut v: Vec<&mut Expr> = self
            .args
            .iter_mut()
            .chain(self.partition_by.iter_mut())
            .collect();
        v.extend(self.order_by.iter_mut().map(|k| &mut k.expr));
        for b in [&mut self.start, &mut self.end] {
            if let FrameBound::Preceding(e) | FrameBound::Following(e) = b {
                v.push(e);
            }
        }
        v
    }
}

/// A bound scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A constant.
    Literal(Value),
    /// A column of the current row.
    Column(usize),
    /// A column of an enclosing row (`depth` 1 = the immediately enclosing one).
    Outer {
        /// Levels up.
        depth: usize,
        /// Column position in that row.
        index: usize,
    },
    /// A statement parameter (0-based).
    Param(usize),
    /// `NOT x`
    Not(Box<Expr>),
    /// `-x`
    Neg(Box<Expr>),
    /// `~x`
    BitNot(Box<Expr>),
    /// Arithmetic.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// Comparison; the affinities are applied to the left/right operand first.
    Compare {
        /// Operator.
        op: CmpOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// Affinity applied to the left operand.
        left_aff: Option<Affinity>,
        /// Affinity applied to the right operand.
        right_aff: Option<Affinity>,
    },
    /// `a AND b`
    And(Box<Expr>, Box<Expr>),
    /// `a OR b`
    Or(Box<Expr>, Box<Expr>),
    /// `a IS b` / `a IS NOT b`
    Is {
        /// Left.
        left: Box<Expr>,
        /// Right.
        right: Box<Expr>,
        /// IS NOT.
        negated: bool,
    },
    /// `x IN (list)`
    InList {
        /// Tested value.
        expr: Box<Expr>,
        /// Candidates.
        list: Vec<Expr>,
        /// NOT IN.
        negated: bool,
        /// Affinity applied to candidates (the tested value's).
        affinity: Option<Affinity>,
    },
    /// `x IN (SELECT ...)`
    InSubquery {
        /// Tested value.
        expr: Box<Expr>,
        /// The subquery.
        plan: Box<SubPlan>,
        /// NOT IN.
        negated: bool,
        /// Affinity applied to the candidates.
        affinity: Option<Affinity>,
    },
    /// `EXISTS (SELECT ...)`
    Exists {
        /// The subquery.
        plan: Box<SubPlan>,
        /// NOT EXISTS.
        negated: bool,
    },
    /// `(SELECT ...)` as a value.
    ScalarSubquery(Box<SubPlan>),
    /// CASE.
    Case {
        /// `CASE x WHEN ...` operand.
        operand: Option<Box<Expr>>,
        /// WHEN / THEN pairs.
        whens: Vec<(Expr, Expr)>,
        /// ELSE.
        otherwise: Option<Box<Expr>>,
    },
    /// CAST(x AS type).
    Cast(Box<Expr>, Affinity),
    /// A comparison affinity applied to a value (SQLite's implicit conversion before a
    /// comparison: unlike CAST it converts only what converts without loss).
    ApplyAffinity(Box<Expr>, Affinity),
    /// LIKE / GLOB.
    Like {
        /// Tested value.
        expr: Box<Expr>,
        /// Pattern.
        pattern: Box<Expr>,
        /// ESCAPE character.
        escape: Option<Box<Expr>>,
        /// NOT LIKE.
        negated: bool,
        /// GLOB instead of LIKE.
        glob: bool,
    },
    /// A scalar function call.
    Function(ScalarFn, Vec<Expr>),
    /// An aggregate call (only before aggregate planning rewrites it to a column).
    Aggregate {
        /// Function.
        func: AggFn,
        /// Arguments.
        args: Vec<Expr>,
        /// DISTINCT.
        distinct: bool,
    },
    /// A window function call (only before window planning rewrites it to a column).
    Window(Box<WindowCall>),
}

impl Expr {
    /// True when this expression reads no row of its own query and gives the same value
    /// each time while the enclosing row stays the same: literals, parameters, deterministic
    /// functions of them, and columns of enclosing rows ([`Expr::Outer`]). A WHERE term of
    /// this kind can be checked once before any row is read, as SQLite does: when it is
    /// false, nothing is read at all.
    pub fn is_fixed_per_enclosing_row(&self) -> bool {
        self.is_deterministic_reading(&|c| matches!(c, Expr::Outer { .. }))
    }

    /// True when the expression reads no row of this query (only enclosing rows) and holds
    /// nothing whose value may change but uncorrelated subqueries: the same value for every
    /// row, though computing it runs a subquery.
    pub fn is_fixed_with_subqueries(&self) -> bool {
        let mut ok = true;
        self.walk(&mut |x| {
            ok &= match x {
                Expr::Column(_) => false,
                Expr::InSubquery { plan, .. }
                | Expr::Exists { plan, .. }
                | Expr::ScalarSubquery(plan) => !plan.correlated,
                Expr::Aggregate { .. } | Expr::Window(_) => false,
                Expr::Function(f, _) => f.is_deterministic(),
                _ => true,
            }
        });
        ok
    }

    /// True when the expression holds no subquery, aggregate, window call or function whose
    /// value may change, and `reads` accepts each of its references to a row (an
    /// [`Expr::Column`] or an [`Expr::Outer`]): it gives the same value for the same row
    /// wherever and however often it is evaluated.
    pub fn is_deterministic_reading(&self, reads: &dyn Fn(&Expr) -> bool) -> bool {
        let mut ok = true;
        self.walk(&mut |x| {
            ok &= match x {
                Expr::Column(_) | Expr::Outer { .. } => reads(x),
                Expr::InSubquery { .. }
                | Expr::Exists { .. }
                | Expr::ScalarSubquery(_)
                | Expr::Aggregate { .. }
                | Expr::Window(_) => false,
                Expr::Function(f, _) => f.is_deterministic(),
                _ => true,
            }
        });
        ok
    }

    /// Visits this expression and its children (not descending into subplans).
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Not(e)
            | Expr::Neg(e)
            | Expr::BitNot(e)
            | Expr::Cast(e, _)
            | Expr::ApplyAffinity(e, _) => e.walk(f),
            Expr::Binary(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Compare { left, right, .. } | Expr::Is { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
            Expr::InList { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            Expr::InSubquery { expr, .. } => expr.walk(f),
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                if let Some(o) = operand {
                    o.walk(f);
                }
                for (w, t) in whens {
                    w.walk(f);
                    t.walk(f);
                }
                if let Some(o) = otherwise {
                    o.walk(f);
                }
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                ..
            } => {
                expr.walk(f);
                pattern.walk(f);
                if let Some(e) = escape {
                    e.walk(f);
                }
            }
            Expr::Function(_, args) | Expr::Aggregate { args, .. } => {
                args.iter().for_each(|e| e.walk(f))
            }
            Expr::Window(w) => w.exprs().into_iter().for_each(|e| e.walk(f)),
            Expr::Literal(_)
            | Expr::Column(_)
            | Expr::Outer { .. }
            | Expr::Param(_)
            | Expr::Exists { .. }
            | Expr::ScalarSubquery(_) => {}
        }
    }

    /// Applies `f` to each direct child expression (not descending into subplans).
    pub fn map_children(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let mut bx = |e: Box<Expr>| Box::new(f(*e));
        match self {
            Expr::Not(e) => Expr::Not(bx(e)),
            Expr::Neg(e) => Expr::Neg(bx(e)),
            Expr::BitNot(e) => Expr::BitNot(bx(e)),
            Expr::Cast(e, a) => Expr::Cast(bx(e), a),
            Expr::ApplyAffinity(e, a) => Expr::ApplyAffinity(bx(e), a),
            Expr::Binary(op, a, b) => {
                let a = bx(a);
                Expr::Binary(op, a, bx(b))
            }
            Expr::And(a, b) => {
                let a = bx(a);
                Expr::And(a, bx(b))
            }
            Expr::Or(a, b) => {
                let a = bx(a);
                Expr::Or(a, bx(b))
            }
            Expr::Compare {
                op,
                left,
                right,
                left_aff,
                right_aff,
            } => {
                let left = bx(left);
                Expr::Compare {
                    op,
                    left,
                    right: bx(right),
                    left_aff,
                    right_aff,
                }
            }
            Expr::Is {
                left,
                right,
                negated,
            } => {
                let left = bx(left);
                Expr::Is {
                    left,
                    right: bx(right),
                    negated,
                }
            }
            Expr::InList {
                expr,
                list,
                negated,
                affinity,
            } => {
                let expr = bx(expr);
                Expr::InList {
                    expr,
                    list: list.into_iter().map(&mut *f).collect(),
                    negated,
                    affinity,
                }
            }
            Expr::InSubquery {
                expr,
                plan,
                negated,
                affinity,
            } => Expr::InSubquery {
                expr: bx(expr),
                plan,
                negated,
                affinity,
            },
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                let operand = operand.map(&mut bx);
                let whens = whens.into_iter().map(|(w, t)| (f(w), f(t))).collect();
                Expr::Case {
                    operand,
                    whens,
                    otherwise: otherwise.map(|o| Box::new(f(*o))),
                }
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                glob,
            } => {
                let expr = bx(expr);
                let pattern = bx(pattern);
                Expr::Like {
                    expr,
                    pattern,
                    escape: escape.map(bx),
                    negated,
                    glob,
                }
            }
            Expr::Function(func, args) => Expr::Function(func, args.into_iter().map(f).collect()),
            Expr::Aggregate {
                func,
                args,
                distinct,
            } => Expr::Aggregate {
                func,
                args: args.into_iter().map(f).collect(),
                distinct,
            },
            Expr::Window(mut w) => {
                for e in w.exprs_mut() {
                    let taken = std::mem::replace(e, Expr::Literal(Value::Null));
                    *e = f(taken);
                }
                Expr::Window(w)
            }
            leaf => leaf,
        }
    }

    /// Rebuilds the expression bottom-up with `f` applied to every node (children first).
    pub fn transform(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let node = self.map_children(&mut |c| c.transform(f));
        f(node)
    }

    /// Rewrites top-down: where `f` returns a replacement the subtree is replaced, otherwise
    /// the children are rewritten.
    pub fn rewrite_top_down(self, f: &mut dyn FnMut(&Expr) -> Option<Expr>) -> Expr {
        match f(&self) {
            Some(r) => r,
            None => self.map_children(&mut |c| c.rewrite_top_down(f)),
        }
    }

    /// True if the expression reads no column of the current row (it may read outer rows,
    /// parameters and subqueries).
    pub fn is_row_independent(&self) -> bool {
        let mut independent = true;
        self.walk(&mut |e| {
            if matches!(
                e,
                Expr::Column(_) | Expr::Aggregate { .. } | Expr::Window(_)
            ) {
                independent = false;
            }
            // Subqueries may be correlated with the current row.
            if let Expr::InSubquery { plan, .. }
            | Expr::Exists { plan, .. }
            | Expr::ScalarSubquery(plan) = e
            {
                if plan.correlated {
                    independent = false;
                }
            }
        });
        independent
    }

    /// Adds `by` to the column index of every reference, inside this expression's
    /// subqueries, to the row this expression is evaluated against (their enclosing row).
    pub fn shift_subquery_refs(self, by: usize) -> Expr {
        self.shift_outer(0, by)
    }

    /// Shifts references `level` enclosing rows up (see [`Expr::shift_subquery_refs`]).
    fn shift_outer(self, level: usize, by: usize) -> Expr {
        let shift_sub = |mut sp: Box<SubPlan>| -> Box<SubPlan> {
            if sp.correlated {
                sp.plan.shift_outer(level + 1, by);
                if level == 0 {
                    if let Some(cols) = &mut sp.outer_columns {
                        cols.iter_mut().for_each(|c| *c += by);
                    }
                }
            }
            sp
        };
        self.transform(&mut |x| match x {
            Expr::Outer { depth, index } if level > 0 && depth == level => Expr::Outer {
                depth,
                index: index + by,
            },
            Expr::InSubquery {
                expr,
                plan,
                negated,
                affinity,
            } => Expr::InSubquery {
                expr,
                plan: shift_sub(plan),
                negated,
                affinity,
            },
            Expr::Exists { plan, negated } => Expr::Exists {
                plan: shift_sub(plan),
                negated,
            },
            Expr::ScalarSubquery(plan) => Expr::ScalarSubquery(shift_sub(plan)),
            x => x,
        })
    }

    /// True if the expression contains a correlated subquery.
    pub fn has_correlated_subquery(&self) -> bool {
        let mut found = false;
        self.walk(&mut |x| {
            if let Expr::InSubquery { plan, .. }
            | Expr::Exists { plan, .. }
            | Expr::ScalarSubquery(plan) = x
            {
                found |= plan.correlated;
            }
        });
        found
    }

    /// Columns of the current row the expression reads.
    pub fn columns(&self) -> Vec<usize> {
        let mut v = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Column(i) = e {
                v.push(*i);
            }
        });
        v
    }

    /// True if the expression contains a window function call.
    pub fn has_window(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Window(_)));
        found
    }

    /// True if the expression contains an aggregate call.
    pub fn has_aggregate(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Aggregate { .. }));
        found
    }
}

/// A subquery inside an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct SubPlan {
    /// Identity for result caching.
    pub id: usize,
    /// The query.
    pub plan: Plan,
    /// True if the subquery reads columns of enclosing rows.
    pub correlated: bool,
    /// Affinity of its first result column (a scalar subquery compares with it).
    pub affinity: Option<Affinity>,
    /// The columns of the immediately enclosing row it reads, when it reads no row further
    /// out: its answer depends on these values only (the executor caches it by them).
    pub outer_columns: Option<Vec<usize>>,
}

/// Where a scan reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The statement's transaction (current data plus own writes).
    Current,
    /// A historical snapshot, by index into the statement's snapshot list.
    Snapshot(usize),
}

/// A bound on one key column.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyBound {
    /// Bound value.
    pub value: Expr,
    /// Inclusive.
    pub inclusive: bool,
}

/// How a table scan finds its rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Every row.
    Full,
    /// Rows whose key columns equal these values (all key columns: a point lookup), or
    /// whose first key columns do (a prefix range), optionally followed by a range on the
    /// next key column. `index` is `None` for the table's own key.
    Key {
        /// The index, or `None` for the primary key / rowid.
        index: Option<Arc<IndexDef>>,
        /// Equality values of the leading key columns.
        eq: Vec<Expr>,
        /// Alternative values for the column after `eq` (an IN list).
        in_list: Option<Vec<Expr>>,
        /// Lower bound on the column after `eq`.
        lower: Option<KeyBound>,
        /// Upper bound on the column after `eq`.
        upper: Option<KeyBound>,
    },
}

/// A table scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanNode {
    /// The table (schema as of the source's point).
    pub table: Arc<TableInfo>,
    /// Name used in EXPLAIN.
    pub alias: String,
    /// Where to read.
    pub source: Source,
    /// Access path.
    pub access: Access,
    /// Rows must satisfy this.
    pub filter: Option<Expr>,
    /// Iterate in descending key order (for ORDER BY ... DESC on the key).
    pub reverse: bool,
    /// The scan's key order satisfies the query's ORDER BY (no sort above it).
    pub ordered: bool,
    /// Stop after the rows a LIMIT (and OFFSET) above keep: (limit, offset).
    pub stop_after: Option<(Expr, Option<Expr>)>,
    /// Estimated rows out, when the planner made one (EXPLAIN).
    pub estimate: Option<f64>,
    /// The table columns the query reads (the others are not decoded and read as NULL), and
    /// last whether it reads the rowid; `None`: all.
    pub columns: Option<Vec<bool>>,
    /// The columns the filter reads (the table's, then the rowid), when they are fewer than
    /// `columns`: the scan decodes them first and the rest of a row only if the filter keeps
    /// it. `None`: the filter is evaluated on the decoded row.
    pub filter_columns: Option<Vec<bool>>,
}

/// Join kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// INNER / CROSS.
    Inner,
    /// LEFT OUTER.
    Left,
    /// Semi join (EXISTS): each left row once if some right row matches; no right columns.
    Semi,
    /// Anti join (NOT EXISTS): each left row that no right row matches.
    Anti,
    /// RIGHT OUTER: every right row, NULL-padded on the left when nothing matched it.
    Right,
    /// FULL OUTER: LEFT and RIGHT together.
    Full,
}

impl JoinKind {
    /// Whether a left row is returned on its own once its pairing is over (`matched`: some
    /// right row matched): unmatched for LEFT (NULL-padded) and anti joins, matched for semi
    /// joins, never for inner joins (their matches were returned as pairs).
    pub fn keeps_left(self, matched: bool) -> bool {
        match self {
            JoinKind::Left | JoinKind::Full | JoinKind::Anti => !matched,
            JoinKind::Semi => matched,
            JoinKind::Inner | JoinKind::Right => false,
        }
    }
}

/// How a join finds the right rows for a left row.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinAlgorithm {
    /// The right side runs again for every left row, which it reads as its enclosing row
    /// (`Expr::Outer { depth: 1 }`): a key or index lookup into the right table.
    Lookup,
    /// The right side runs once; its rows are kept and paired with every left row.
    Loop,
    /// The right side runs once into a hash table on its keys; each left row probes it.
    /// With `build_left` (inner joins only) the roles swap: the left rows go into the table
    /// and each right row probes it, for when the rows joined so far are the fewer.
    Hash {
        /// Keys over the combined (left) row.
        left_keys: Vec<HashKey>,
        /// Keys over the right relation's rows.
        right_keys: Vec<HashKey>,
        /// The hash table holds the left rows; the right side streams.
        build_left: bool,
    },
}

/// One side of an equality a hash join matches on.
#[derive(Debug, Clone, PartialEq)]
pub struct HashKey {
    /// The key expression.
    pub expr: Expr,
    /// Comparison affinity applied to its value first.
    pub affinity: Option<Affinity>,
}

/// A join step: the rows joined so far (in the query's full row layout) with one relation.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinNode {
    /// Rows joined so far, full width.
    pub left: Plan,
    /// The added relation's own rows.
    pub right: Plan,
    /// Inner, left outer, semi, anti; or right / full outer, whose left rows end where the
    /// right relation's slot begins (see `execution::outer_join`).
    pub kind: JoinKind,
    /// Where the right relation's columns go in the combined row.
    pub offset: usize,
    /// How matches are found.
    pub algorithm: JoinAlgorithm,
    /// Must hold on the combined row for a pair to match (for a LEFT JOIN, its ON clause).
    /// For semi and anti joins it is a condition of the subquery they come from: evaluated on
    /// the right row, with the left row as its enclosing row.
    pub condition: Option<Expr>,
    /// Estimated rows out (EXPLAIN).
    pub estimate: f64,
}

/// One ORDER BY key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// Expression over the input row.
    pub expr: Expr,
    /// Descending.
    pub desc: bool,
    /// NULLs first (SQLite's default: first when ascending, last when descending).
    pub nulls_first: bool,
}

/// Set operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// UNION
    Union,
    /// INTERSECT
    Intersect,
    /// EXCEPT
    Except,
}

/// The table-valued functions.
#[derive(Debug, Clone, PartialEq)]
pub enum TableFunction {
    /// `json_each(json [, root])`: the members of the root's container.
    JsonEach,
    /// `json_tree(json [, root])`: the root and everything under it, depth first.
    JsonTree,
    /// `pragma_table_info(arg [, schema])` and the other schema PRAGMAs, with their rows.
    Pragma(std::sync::Arc<super::pragma_info::PragmaTable>),
}

impl TableFunction {
    /// The function of a FROM-clause name, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("json_each") {
            Some(Self::JsonEach)
        } else if name.eq_ignore_ascii_case("json_tree") {
            Some(Self::JsonTree)
        } else {
            None
        }
    }

    /// The function's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::JsonEach => "json_each",
            Self::JsonTree => "json_tree",
            Self::Pragma(t) => t.function,
        }
    }
}

/// A query plan. Every node produces rows of a fixed width.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Read a table.
    Scan(Box<ScanNode>),
    /// Literal rows (VALUES, or the single empty row of a FROM-less SELECT).
    Values(Vec<Vec<Expr>>),
    /// Keep rows satisfying the predicate.
    Filter(Box<Plan>, Expr),
    /// Compute new columns.
    Project(Box<Plan>, Vec<Expr>),
    /// Places the rows of the first relation of a join order into the query's row layout:
    /// `width` columns, the input's at `offset`, NULL elsewhere.
    Place {
        /// The relation's rows.
        input: Box<Plan>,
        /// Where its columns go.
        offset: usize,
        /// Width of the combined row.
        width: usize,
    },
    /// Adds one relation to the rows joined so far.
    Join(Box<JoinNode>),
    /// Grouping: output rows are the group values followed by the aggregate values.
    Aggregate {
        /// Input.
        input: Box<Plan>,
        /// Grouping expressions.
        group_by: Vec<Expr>,
        /// Aggregates (each an [`Expr::Aggregate`]).
        aggregates: Vec<Expr>,
        /// Append each group's last input row to its output row: correlated subqueries
        /// above the grouping read the enclosing row's columns there.
        input_row: bool,
    },
    /// Sort.
    Sort(Box<Plan>, Vec<SortKey>),
    /// LIMIT / OFFSET.
    Limit {
        /// Input.
        input: Box<Plan>,
        /// LIMIT (negative: none).
        limit: Option<Expr>,
        /// OFFSET.
        offset: Option<Expr>,
    },
    /// Remove duplicate rows.
    Distinct(Box<Plan>),
    /// UNION / INTERSECT / EXCEPT.
    SetOperation {
        /// Operator.
        op: SetOp,
        /// Keep duplicates (UNION ALL).
        all: bool,
        /// The collation each column's values are compared under to find duplicates (the
        /// whole compound's, SQLite's rule: the leftmost operand that gives the column one);
        /// empty when all are BINARY.
        collations: Vec<Collation>,
        /// Left.
        left: Box<Plan>,
        /// Right.
        right: Box<Plan>,
    },
    /// Window functions: the input rows, each followed by one value per call.
    Window {
        /// Input.
        input: Box<Plan>,
        /// The calls, in output column order.
        calls: Vec<WindowCall>,
    },
    /// `WITH RECURSIVE`: the initial rows, then the recursive step run again for each row
    /// taken from a queue (the step reads that row as the working table, a `Materialize`
    /// of `working` the operator fills), its new rows queued in turn. Rows stream out as
    /// they leave the queue, so a LIMIT above stops the recursion.
    Recursive {
        /// Cache id of the working table the step reads.
        working: usize,
        /// The non-recursive part.
        initial: Box<Plan>,
        /// The recursive part.
        step: Box<Plan>,
        /// UNION (rows seen before are dropped) rather than UNION ALL.
        distinct: bool,
        /// Per column, the collation under which UNION finds rows seen before (empty: all
        /// BINARY): that of the initial SELECT's column, as for a compound.
        collations: Vec<Collation>,
    },
    /// A table-valued function (`json_each`, `json_tree`): its rows for the arguments'
    /// values, which may read the enclosing row (`FROM t, json_each(t.doc)` runs it as the
    /// inner side of a lookup join, once per row of `t`).
    TableFunction {
        /// Which function.
        function: TableFunction,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// Evaluate once per statement and reuse (uncorrelated derived tables, CTEs, views).
    Materialize {
        /// Cache identity.
        id: usize,
        /// The input.
        input: Box<Plan>,
        /// What the query asked for (a CTE's `AS [NOT] MATERIALIZED`).
        hint: Materialization,
    },
}

/// A CTE's `AS MATERIALIZED` / `AS NOT MATERIALIZED`, which decides whether an UPDATE that
/// computes its rows one at a time reads the relation once per statement or afresh for each
/// row (`plan::relations_computed_once`), as SQLite's flattener would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Materialization {
    /// No hint: computed once if SQLite could not flatten it (aggregate, DISTINCT, ...).
    #[default]
    Auto,
    /// `AS MATERIALIZED`: computed once per statement.
    Materialized,
    /// `AS NOT MATERIALIZED`: read afresh wherever SQLite can flatten it.
    NotMaterialized,
}

impl Plan {
    /// Shifts the references of the plan's expressions to the row `level` enclosing rows up.
    fn shift_outer(&mut self, level: usize, by: usize) {
        let inner = match self {
            Plan::Join(j) if j.algorithm == JoinAlgorithm::Lookup => level + 1,
            _ => level,
        };
        self.visit_own_exprs_mut(&mut |e| {
            let taken = std::mem::replace(e, Expr::Literal(Value::Null));
            *e = taken.shift_outer(level, by);
        });
        match self {
            Plan::Scan(_) | Plan::Values(_) | Plan::TableFunction { .. } => {}
            Plan::Filter(p, _)
            | Plan::Project(p, _)
            | Plan::Place { input: p, .. }
            | Plan::Aggregate { input: p, .. }
            | Plan::Sort(p, _)
            | Plan::Limit { input: p, .. }
            | Plan::Distinct(p)
            | Plan::Window { input: p, .. }
            | Plan::Materialize { input: p, .. } => p.shift_outer(level, by),
            Plan::Join(j) => {
                j.left.shift_outer(level, by);
                j.right.shift_outer(inner, by);
            }
            Plan::SetOperation { left, right, .. }
            | Plan::Recursive {
                initial: left,
                step: right,
                ..
            } => {
                left.shift_outer(level, by);
                right.shift_outer(level, by);
            }
        }
    }

    /// True if running the plan reads a row from outside it (an enclosing query's row), so
    /// its result depends on where it runs.
    pub fn reads_outer(&self) -> bool {
        self.escapes(0)
    }

    /// True if the plan reads an enclosing row more than `depth` levels out (the inner side of
    /// a lookup join sees the joined row as depth 1).
    pub fn reads_outer_beyond(&self, depth: usize) -> bool {
        self.escapes(depth)
    }

    /// `shift`: how many enclosing rows inside the plan the node's expressions see (the inner
    /// side of a lookup join sees the joined row as its first).
    fn escapes(&self, shift: usize) -> bool {
        let mut found = false;
        let mut check = |e: &Expr| {
            e.walk(&mut |x| match x {
                Expr::Outer { depth, .. } => found |= *depth > shift,
                Expr::InSubquery { plan, .. }
                | Expr::Exists { plan, .. }
                | Expr::ScalarSubquery(plan) => {
                    found |= plan.correlated && (plan.outer_columns.is_none() || shift > 0)
                }
                _ => {}
            })
        };
        self.visit_own_exprs(&mut check);
        if found {
            return true;
        }
        match self {
            Plan::Join(j) => {
                let inner = if j.algorithm == JoinAlgorithm::Lookup {
                    shift + 1
                } else {
                    shift
                };
                j.left.escapes(shift) || j.right.escapes(inner)
            }
            other => other.inputs().iter().any(|p| p.escapes(shift)),
        }
    }

    /// Calls `f` on the expressions of this node (not of its inputs).
    pub fn visit_own_exprs(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            Plan::Scan(n) => {
                if let Some(e) = &n.filter {
                    f(e);
                }
                if let Some((limit, offset)) = &n.stop_after {
                    f(limit);
                    if let Some(o) = offset {
                        f(o);
                    }
                }
                if let Access::Key {
                    eq,
                    in_list,
                    lower,
                    upper,
                    ..
                } = &n.access
                {
                    eq.iter().for_each(&mut *f);
                    if let Some(l) = in_list {
                        l.iter().for_each(&mut *f);
                    }
                    if let Some(b) = lower {
                        f(&b.value);
                    }
                    if let Some(b) = upper {
                        f(&b.value);
                    }
                }
            }
            Plan::Values(rows) => rows.iter().flatten().for_each(f),
            Plan::TableFunction { args, .. } => args.iter().for_each(f),
            Plan::Filter(_, e) => f(e),
            Plan::Project(_, es) => es.iter().for_each(f),
            Plan::Join(j) => {
                if let Some(c) = &j.condition {
                    f(c);
                }
                if let JoinAlgorithm::Hash {
                    left_keys,
                    right_keys,
                    ..
                } = &j.algorithm
                {
                    left_keys.iter().chain(right_keys).for_each(|k| f(&k.expr));
                }
            }
            Plan::Aggregate {
                group_by,
                aggregates,
                ..
            } => {
                group_by.iter().for_each(&mut *f);
                aggregates.iter().for_each(f);
            }
            Plan::Sort(_, keys) => keys.iter().for_each(|k| f(&k.expr)),
            Plan::Window { calls, .. } => calls.iter().flat_map(|c| c.exprs()).for_each(f),
            Plan::Limit { limit, offset, .. } => {
                if let Some(e) = limit {
                    f(e);
                }
                if let Some(e) = offset {
                    f(e);
                }
            }
            Plan::Place { .. }
            | Plan::Distinct(_)
            | Plan::Materialize { .. }
            | Plan::SetOperation { .. }
            | Plan::Recursive { .. } => {}
        }
    }

    /// Calls `f` on each expression of this node (not of its inputs).
    fn visit_own_exprs_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        match self {
            Plan::Scan(n) => {
                if let Some(e) = &mut n.filter {
                    f(e);
                }
                if let Some((limit, offset)) = &mut n.stop_after {
                    f(limit);
                    if let Some(o) = offset {
                        f(o);
                    }
                }
                if let Access::Key {
                    eq,
                    in_list,
                    lower,
                    upper,
                    ..
                } = &mut n.access
                {
                    eq.iter_mut().for_each(&mut *f);
                    if let Some(l) = in_list {
                        l.iter_mut().for_each(&mut *f);
                    }
                    if let Some(b) = lower {
                        f(&mut b.value);
                    }
                    if let Some(b) = upper {
                        f(&mut b.value);
                    }
                }
            }
            Plan::Values(rows) => rows.iter_mut().flatten().for_each(f),
            Plan::TableFunction { args, .. } => args.iter_mut().for_each(f),
            Plan::Filter(_, e) => f(e),
            Plan::Project(_, es) => es.iter_mut().for_each(f),
            Plan::Join(j) => {
                if let Some(c) = &mut j.condition {
                    f(c);
                }
                if let JoinAlgorithm::Hash {
                    left_keys,
                    right_keys,
                    ..
                } = &mut j.algorithm
                {
                    left_keys
                        .iter_mut()
                        .chain(right_keys.iter_mut())
                        .for_each(|k| f(&mut k.expr));
                }
            }
            Plan::Aggregate {
                group_by,
                aggregates,
                ..
            } => {
                group_by.iter_mut().for_each(&mut *f);
                aggregates.iter_mut().for_each(f);
            }
            Plan::Sort(_, keys) => keys.iter_mut().for_each(|k| f(&mut k.expr)),
            Plan::Window { calls, .. } => calls.iter_mut().flat_map(|c| c.exprs_mut()).for_each(f),
            Plan::Limit { limit, offset, .. } => {
                if let Some(e) = limit {
                    f(e);
                }
                if let Some(e) = offset {
                    f(e);
                }
            }
            Plan::Place { .. }
            | Plan::Distinct(_)
            | Plan::Materialize { .. }
            | Plan::SetOperation { .. }
            | Plan::Recursive { .. } => {}
        }
    }
}
