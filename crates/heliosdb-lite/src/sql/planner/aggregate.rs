//! Rewrites a grouped query's expressions to read the aggregate node's output row: group
//! keys first, then one column per distinct aggregate call.

use super::super::plan::{AggFn, Expr};

pub(super) struct AggRewriter {
    group_by: Vec<Expr>,
    /// Grouping terms grouped by their collation key: read as their group's first value.
    collated: Vec<Expr>,
    /// Aggregate calls, in output order after the group keys.
    pub aggregates: Vec<Expr>,
}

impl AggRewriter {
    pub(super) fn new(group_by: Vec<Expr>) -> Self {
        Self {
            group_by,
            collated: Vec::new(),
            aggregates: Vec::new(),
        }
    }

    /// Groups by a term's collation key instead of the term: where the query shows the term
    /// it gets the group's first value, as SQLite shows it.
    pub(super) fn with_collated(mut self, collated: Vec<Expr>) -> Self {
        self.collated = collated;
        self
    }

    fn slot(&mut self, agg: Expr) -> Expr {
        let ng = self.group_by.len();
        if let Some(i) = self.aggregates.iter().position(|a| *a == agg) {
            return Expr::Column(ng + i);
        }
        self.aggregates.push(agg);
        Expr::Column(ng + self.aggregates.len() - 1)
    }

    pub(super) fn rewrite(&mut self, e: Expr) -> Expr {
        e.rewrite_top_down(&mut |x| {
            if let Some(i) = self.group_by.iter().position(|g| g == x) {
                return Some(Expr::Column(i));
            }
            if self.collated.iter().any(|g| g == x) {
                return Some(self.slot(Expr::Aggregate {
                    func: AggFn::First,
                    args: vec![x.clone()],
                    distinct: false,
                }));
            }
            match x {
                Expr::Aggregate { .. } => Some(self.slot(x.clone())),
                // A bare column outside the group key: SQLite takes it from a row of the group.
                Expr::Column(_) => Some(self.slot(Expr::Aggregate {
                    func: AggFn::AnyValue,
                    args: vec![x.clone()],
                    distinct: false,
                })),
                _ => None,
            }
        })
    }
}
