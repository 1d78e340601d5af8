//! FROM items over the JSON documents of table `jd`: derived tables whose columns come from
//! `json_extract`, `->`, `->>`, `json_type`, `json_array_length`, `json_each` and
//! `json_group_array`. They are joined, filtered and aggregated like any other source.
//!
//! Every column's class is known: the documents hold only integers, reals with a fraction,
//! strings, booleans (read as 1 and 0) and null, so extracted values are [`Class::Int`]
//! (integers, fractional reals or text); `->`, `json_type` and `json_group_array` give text.
//! `json_group_array` is only used where its order is fixed: one row per group, or under
//! `json_array_length`.

use super::{Gen, Source};
use crate::schema::Class;
use rand::seq::IndexedRandom;
use rand::Rng;

/// Paths into the documents: present, missing, inside arrays (from the end too) and nested
/// objects, plus SQLite's bare-label form of `->` / `->>`.
const PATHS: [&str; 8] = [
    "'$.a'",
    "'$.b[0]'",
    "'$.b[1]'",
    "'$.b[#-1]'",
    "'$.c.d'",
    "'$.c.e'",
    "'$.z'",
    "'a'",
];

impl Gen<'_> {
    /// A derived table over `jd`, aliased `alias`: its text, source, row bound and cost.
    pub(super) fn json_source(&mut self, alias: String) -> (String, Source, u64, u64) {
        let rows = self.schema.json_rows as u64;
        let path = *PATHS.choose(&mut self.rng).expect("not empty");
        // The bare label is a `->` / `->>` form; json_extract needs a `$` path.
        let full = if path == "'a'" { "'$.a'" } else { path };
        let (body, classes, rows) = match self.rng.random_range(0..6) {
            0 => (
                format!("SELECT j.id AS k0, json_extract(j.doc, {full}) AS k1 FROM jd AS j"),
                vec![Class::Int, Class::Int],
                rows,
            ),
            1 => (
                format!(
                    "SELECT j.id AS k0, j.doc ->> {path} AS k1, j.doc -> {path} AS k2 FROM jd AS j"
                ),
                vec![Class::Int, Class::Int, Class::NonNumeric],
                rows,
            ),
            2 => {
                let each = if self.pct(50) {
                    "json_each(j.doc)".to_string()
                } else {
                    format!("json_each(j.doc, {})", ["'$.b'", "'$.c'"].choose(&mut self.rng).expect("not empty"))
                };
                (
                    format!(
                        "SELECT j.id AS k0, e.key AS k1, e.value AS k2, e.type AS k3 \
                         FROM jd AS j, {each} AS e"
                    ),
                    vec![Class::Int, Class::Int, Class::Int, Class::NonNumeric],
                    rows * 3,
                )
            }
            3 => (
                format!(
                    "SELECT j.id AS k0, json_group_array(j.doc ->> {path}) AS k1 \
                     FROM jd AS j GROUP BY j.id"
                ),
                vec![Class::Int, Class::NonNumeric],
                rows,
            ),
            4 => (
                format!(
                    "SELECT j.doc ->> {path} AS k0, json_array_length(json_group_array(j.id)) AS k1 \
                     FROM jd AS j GROUP BY 1"
                ),
                vec![Class::Int, Class::Int],
                rows,
            ),
            _ => (
                "SELECT j.id AS k0, json_type(j.doc, '$.b') AS k1, \
                 json_array_length(j.doc, '$.b') AS k2, json_valid(j.doc) AS k3 FROM jd AS j"
                    .to_string(),
                vec![Class::Int, Class::NonNumeric, Class::Int, Class::Int],
                rows,
            ),
        };
        let source = Source {
            alias: alias.clone(),
            cols: super::from::numbered_columns(&classes),
        };
        (format!("({body}) AS {alias}"), source, rows, rows * 3)
    }
}
