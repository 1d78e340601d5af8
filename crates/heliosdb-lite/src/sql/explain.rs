//! EXPLAIN: a readable description of a plan, one line per operator.

use super::execution::Profile;
use super::plan::{Access, Expr, JoinAlgorithm, JoinKind, Plan, ScanNode, SetOp, Source};
use crate::mvcc::Snapshot;

fn scan_line(n: &ScanNode, snapshots: &[Snapshot]) -> String {
    let name = if n.alias.eq_ignore_ascii_case(&n.table.def.name) {
        n.table.def.name.clone()
    } else {
        format!("{} AS {}", n.table.def.name, n.alias)
    };
    let when = match n.source {
        Source::Current => String::new(),
        Source::Snapshot(i) => snapshots
            .get(i)
            .map_or_else(String::new, |s| format!(" AS OF SCN {}", s.scn())),
    };
    let access = match &n.access {
        Access::Full => format!("SCAN {name}{when}"),
        Access::Key {
            index,
            eq,
            in_list,
            lower,
            upper,
        } => {
            let (what, cols): (String, Vec<String>) = match index {
                None => {
                    let def = &n.table.def;
                    let cols = if def.has_rowid() {
                        vec![def
                            .rowid_column
                            .map_or_else(|| "rowid".to_string(), |c| def.columns[c].name.clone())]
                    } else {
                        def.primary_key
                            .iter()
                            .map(|&c| def.columns[c].name.clone())
                            .collect()
                    };
                    ("PRIMARY KEY".into(), cols)
                }
                Some(ix) => (
                    // As SQLite says it: the rows come from the index alone.
                    if super::execution::covering::covering(&n.table, ix, n.columns.as_deref())
                        .is_some()
                    {
                        format!("COVERING INDEX {}", ix.name)
                    } else {
                        format!("INDEX {}", ix.name)
                    },
                    ix.columns
                        .iter()
                        .map(|c| super::execution::computed::part_name(&n.table.def, c))
                        .collect(),
                ),
            };
            let mut terms: Vec<String> = cols
                .iter()
                .take(eq.len())
                .map(|c| format!("{c}=?"))
                .collect();
            if let Some(next) = cols.get(eq.len()) {
                if in_list.is_some() {
                    terms.push(format!("{next} IN (...)"));
                }
                if lower.is_some() {
                    terms.push(format!("{next}>?"));
                }
                if upper.is_some() {
                    terms.push(format!("{next}<?"));
                }
            }
            if terms.is_empty() {
                format!("SCAN {name}{when} USING {what}")
            } else {
                format!("SEARCH {name}{when} USING {what} ({})", terms.join(" AND "))
            }
        }
    };
    let mut line = access;
    if n.filter.is_some() {
        line.push_str(" WITH FILTER");
    }
    if n.ordered {
        line.push_str(if n.reverse {
            " IN REVERSE KEY ORDER (no sort)"
        } else {
            " IN KEY ORDER (no sort)"
        });
    }
    if n.stop_after.is_some() {
        line.push_str(" UNTIL LIMIT");
    }
    if let Some(e) = n.estimate {
        line.push_str(&format!(" ~{} rows", e.round() as u64));
    }
    line
}

fn walk(
    p: &Plan,
    depth: usize,
    snaps: &[Snapshot],
    profile: Option<&Profile>,
    out: &mut Vec<String>,
) {
    let pad = "  ".repeat(depth);
    // EXPLAIN ANALYZE: what the node did, after its description.
    let actual = match profile.map(|pr| pr.stats(p)) {
        None => String::new(),
        Some(None) => " (never ran)".to_string(),
        Some(Some(st)) => format!(
            " (actual {} rows, {} loop{}, {:.3} ms)",
            st.rows,
            st.loops,
            if st.loops == 1 { "" } else { "s" },
            st.nanos as f64 / 1e6
        ),
    };
    let mut line = |s: String| out.push(format!("{pad}{s}{actual}"));
    match p {
        Plan::Scan(n) => line(scan_line(n, snaps)),
        Plan::Values(rows) => line(format!("VALUES ({} rows)", rows.len())),
        Plan::TableFunction { function, .. } => line(format!("TABLE FUNCTION {}", function.name())),
        Plan::Filter(i, _) => {
            line("FILTER".into());
            walk(i, depth + 1, snaps, profile, out);
        }
        Plan::Project(i, es) => {
            if es.iter().enumerate().all(|(k, e)| *e == Expr::Column(k)) {
                walk(i, depth, snaps, profile, out);
            } else {
                line(format!("PROJECT {} columns", es.len()));
                walk(i, depth + 1, snaps, profile, out);
            }
        }
        Plan::Place { input, .. } => walk(input, depth, snaps, profile, out),
        Plan::Join(j) => {
            let how = match &j.algorithm {
                JoinAlgorithm::Lookup => "lookup".to_string(),
                JoinAlgorithm::Loop => "nested loop".to_string(),
                JoinAlgorithm::Hash {
                    left_keys,
                    build_left,
                    ..
                } => {
                    format!(
                        "hash on {} key{}{}",
                        left_keys.len(),
                        if left_keys.len() == 1 { "" } else { "s" },
                        if *build_left {
                            ", built on the rows joined so far"
                        } else {
                            ""
                        }
                    )
                }
            };
            // An estimate of 0 means none was made.
            let estimate = if j.estimate > 0.0 {
                format!(" ~{} rows", j.estimate.round() as u64)
            } else {
                String::new()
            };
            line(format!(
                "{} JOIN ({how}){estimate}",
                match j.kind {
                    JoinKind::Left => "LEFT",
                    JoinKind::Inner => "INNER",
                    JoinKind::Semi => "SEMI",
                    JoinKind::Anti => "ANTI",
                    JoinKind::Right => "RIGHT",
                    JoinKind::Full => "FULL",
                },
            ));
            walk(&j.left, depth + 1, snaps, profile, out);
            walk(&j.right, depth + 1, snaps, profile, out);
        }
        Plan::Aggregate {
            input,
            group_by,
            aggregates,
            ..
        } => {
            line(format!(
                "AGGREGATE {} groups keys, {} aggregates",
                group_by.len(),
                aggregates.len()
            ));
            walk(input, depth + 1, snaps, profile, out);
        }
        Plan::Sort(i, keys) => {
            line(format!("SORT by {} keys", keys.len()));
            walk(i, depth + 1, snaps, profile, out);
        }
        Plan::Limit { input, .. } => {
            line("LIMIT".into());
            walk(input, depth + 1, snaps, profile, out);
        }
        Plan::Distinct(i) => {
            line("DISTINCT".into());
            walk(i, depth + 1, snaps, profile, out);
        }
        Plan::SetOperation {
            op,
            all,
            left,
            right,
            ..
        } => {
            let name = match op {
                SetOp::Union => "UNION",
                SetOp::Intersect => "INTERSECT",
                SetOp::Except => "EXCEPT",
            };
            line(format!("{name}{}", if *all { " ALL" } else { "" }));
            walk(left, depth + 1, snaps, profile, out);
            walk(right, depth + 1, snaps, profile, out);
        }
        Plan::Window { input, calls } => {
            line(format!("WINDOW ({} functions)", calls.len()));
            walk(input, depth + 1, snaps, profile, out);
        }
        Plan::Recursive {
            initial,
            step,
            distinct,
            ..
        } => {
            line(format!(
                "RECURSIVE CTE (UNION{})",
                if *distinct { "" } else { " ALL" }
            ));
            walk(initial, depth + 1, snaps, profile, out);
            walk(step, depth + 1, snaps, profile, out);
        }
        Plan::Materialize { input, .. } => {
            line("MATERIALIZE".into());
            walk(input, depth + 1, snaps, profile, out);
        }
    }
}

/// Describes a plan.
pub fn explain(plan: &Plan, snapshots: &[Snapshot]) -> Vec<String> {
    let mut out = Vec::new();
    walk(plan, 0, snapshots, None, &mut out);
    out
}

/// Describes a plan that ran, with each node's actual rows, loops and time.
pub fn explain_analyzed(plan: &Plan, snapshots: &[Snapshot], profile: &Profile) -> Vec<String> {
    let mut out = Vec::new();
    walk(plan, 0, snapshots, Some(profile), &mut out);
    out
}
