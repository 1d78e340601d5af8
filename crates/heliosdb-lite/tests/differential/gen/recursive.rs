//! Recursive CTEs besides the plain counter of `with_clause`: counters seeded from a table's
//! column (so the recursion starts from data, and the CTE is then joined to tables like any
//! other source), and walks over the small graph of table `g`.
//!
//! Every form is bounded whatever the data: counters stop at a constant, walks either stop
//! at a depth or use UNION, which drops the rows already seen, so a cycle ends.

use super::{Cte, Gen};
use crate::schema::{Class, GRAPH_NODES};
use rand::seq::IndexedRandom;
use rand::Rng;

impl Gen<'_> {
    /// A recursive CTE named `name`: its definition (`name(k0, ...) AS (...)`) and
    /// description.
    pub(super) fn recursive_cte(&mut self, name: String) -> (String, Cte) {
        let all = if self.pct(50) { " ALL" } else { "" };
        match self.rng.random_range(0..3) {
            0 => {
                // A counter from each value of a column: `CAST(... AS INTEGER) + 0` makes
                // every seed an integer (or NULL) with no affinity, so the CTE column's
                // affinity, which SQLite leaves undefined for a compound, cannot matter.
                let table = self.schema.tables.choose(&mut self.rng).expect("tables");
                let col = table.columns.choose(&mut self.rng).expect("columns").name;
                let stop = self.rng.random_range(0..=6);
                // Seeds are at least -3 (the smallest generated integer): at most
                // `stop + 4` rows per seed.
                let rows = (table.rows as u64).max(1) * (stop as u64 + 4);
                let sql = format!(
                    "{name}(k0) AS (SELECT CAST(s.{col} AS INTEGER) + 0 FROM {} AS s \
                     UNION{all} SELECT k0 + 1 FROM {name} WHERE k0 < {stop})",
                    table.name
                );
                let cost = rows + table.rows as u64;
                (sql, self.int_cte(name, 1, rows, cost))
            }
            1 => {
                // Nodes reachable from a start node, with their distance, up to a depth.
                // `g.dst + 0` as in the other forms: the seed is a literal (no affinity) and
                // `g.dst` an INTEGER column, and SQLite leaves the affinity of a compound's
                // column undefined when its arms differ (seed 20261216, case 6790: the bundled
                // SQLite compared `'2.0'` with the CTE's 2 numerically, 3.40 did not).
                let start = self.rng.random_range(0..GRAPH_NODES);
                let max_depth = self.rng.random_range(0..=4u64);
                let sql = format!(
                    "{name}(k0, k1) AS (SELECT {start}, 0 UNION{all} SELECT g.dst + 0, w.k1 + 1 \
                     FROM {name} AS w JOIN g ON g.src = w.k0 WHERE w.k1 < {max_depth})"
                );
                // UNION ALL repeats paths: at most edges^depth of them, bounded here.
                let edges = self.schema.edges as u64;
                let rows = (0..=max_depth)
                    .map(|d| edges.max(1).saturating_pow(d as u32))
                    .sum::<u64>()
                    .min(100_000);
                (
                    sql,
                    self.int_cte(name, 2, rows, rows.saturating_mul(edges + 1)),
                )
            }
            _ => {
                // Reachability: UNION (never ALL) ends at the first node seen again;
                // `g.dst + 0` for the reason above.
                let start = self.rng.random_range(0..GRAPH_NODES);
                let sql = format!(
                    "{name}(k0) AS (SELECT {start} UNION SELECT g.dst + 0 FROM g, {name} \
                     WHERE g.src = {name}.k0)"
                );
                let rows = GRAPH_NODES as u64;
                let cost = rows * (self.schema.edges as u64 + 1);
                (sql, self.int_cte(name, 1, rows, cost))
            }
        }
    }

    fn int_cte(&self, name: String, ncols: usize, rows: u64, cost: u64) -> Cte {
        Cte {
            name,
            classes: vec![Class::Int; ncols],
            rows,
            cost,
        }
    }
}
