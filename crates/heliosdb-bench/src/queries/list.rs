//! The benchmark's queries. Each text marks every table reference with `{asof}`, right after
//! the table name: removed for the current-state query, replaced by `AS OF SCN n` (or
//! Stoolap's `AS OF TRANSACTION n`) for the time-travel one, so both variants are the same
//! query and every table, subqueries included, reads the same past point.

/// One benchmark query.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    /// Short name: the table's first column and the JSON key.
    pub name: &'static str,
    /// SQL with `{asof}` after every table name.
    pub sql: &'static str,
    /// The row order is part of the answer (ORDER BY): checksummed in order.
    pub ordered: bool,
    /// Has a subquery: Stoolap does not take AS OF inside subqueries, so it runs only the
    /// current-state variant of these.
    pub subquery: bool,
}

impl Query {
    /// The text with `clause` (e.g. `AS OF SCN 42`, or empty for the current state) after
    /// every table name.
    pub fn text(&self, clause: &str) -> String {
        if clause.is_empty() {
            self.sql.replace("{asof}", "")
        } else {
            self.sql.replace("{asof}", &format!(" {clause}"))
        }
    }
}

/// Every query, in the order of the result table.
pub const QUERIES: &[Query] = &[
    Query {
        // Written with the biggest table first and the only filter on the last one: an engine
        // that joins in FROM order scans transactions x accounts before it can filter.
        name: "join3 bad FROM order",
        sql: "SELECT count(*), sum(t.amount) FROM transactions{asof} t, accounts{asof} a, \
              customers{asof} c WHERE c.region = 'north' AND a.customer_id = c.id \
              AND t.account_id = a.id",
        ordered: false,
        subquery: false,
    },
    Query {
        // Equality on an unindexed column of the big table against a primary key.
        name: "join unindexed ref_code",
        sql: "SELECT count(*), sum(t.amount) FROM transactions{asof} t \
              JOIN accounts{asof} a ON t.ref_code = a.id WHERE a.kind = 'loan'",
        ordered: false,
        subquery: false,
    },
    Query {
        // Many-to-many through customer_id, unindexed on both sides (a hash join's case).
        name: "join txn-access_log via customer",
        sql: "SELECT count(*), sum(t.amount) FROM transactions{asof} t \
              JOIN accounts{asof} a ON a.id = t.account_id \
              JOIN access_log{asof} l ON l.customer_id = a.customer_id \
              WHERE l.action = 'export'",
        ordered: false,
        subquery: false,
    },
    Query {
        name: "star join filtered dims",
        sql: "SELECT c.segment, count(*), sum(t.amount) FROM transactions{asof} t \
              JOIN accounts{asof} a ON t.account_id = a.id \
              JOIN customers{asof} c ON a.customer_id = c.id \
              WHERE c.region = 'east' AND a.kind = 'checking' GROUP BY c.segment",
        ordered: false,
        subquery: false,
    },
    Query {
        name: "correlated EXISTS",
        sql: "SELECT count(*) FROM customers{asof} c WHERE EXISTS (SELECT 1 \
              FROM accounts{asof} a, transactions{asof} t WHERE a.customer_id = c.id \
              AND t.account_id = a.id AND t.amount > 240000)",
        ordered: false,
        subquery: true,
    },
    Query {
        name: "correlated NOT EXISTS",
        sql: "SELECT count(*) FROM customers{asof} c WHERE NOT EXISTS (SELECT 1 \
              FROM accounts{asof} a, transactions{asof} t WHERE a.customer_id = c.id \
              AND t.account_id = a.id AND t.amount > 240000)",
        ordered: false,
        subquery: true,
    },
    Query {
        name: "IN subquery",
        sql: "SELECT count(*) FROM transactions{asof} WHERE account_id IN \
              (SELECT id FROM accounts{asof} WHERE kind = 'savings')",
        ordered: false,
        subquery: true,
    },
    Query {
        name: "GROUP BY account_id",
        sql: "SELECT account_id, count(*), sum(amount) FROM transactions{asof} \
              GROUP BY account_id",
        ordered: false,
        subquery: false,
    },
    Query {
        name: "COUNT(DISTINCT account_id)",
        sql: "SELECT count(DISTINCT account_id) FROM transactions{asof}",
        ordered: false,
        subquery: false,
    },
    Query {
        name: "LEFT JOIN + GROUP BY",
        sql: "SELECT c.id, count(a.id) FROM customers{asof} c \
              LEFT JOIN accounts{asof} a ON a.customer_id = c.id GROUP BY c.id",
        ordered: false,
        subquery: false,
    },
    Query {
        name: "ORDER BY amount DESC LIMIT 5",
        sql: "SELECT id, amount FROM transactions{asof} ORDER BY amount DESC LIMIT 5",
        ordered: true,
        subquery: false,
    },
    Query {
        name: "full sort ORDER BY amount, id",
        sql: "SELECT id, amount FROM transactions{asof} ORDER BY amount, id",
        ordered: true,
        subquery: false,
    },
    Query {
        name: "count(*)",
        sql: "SELECT count(*) FROM transactions{asof}",
        ordered: false,
        subquery: false,
    },
    Query {
        // A chain s1-s5-s2-s7-s3-s8-s4-s6 listed as s1..s8: no two neighbours in FROM are
        // joined, so FROM order means cross products of up to 10^7 rows.
        name: "join8 small tables",
        sql: "SELECT count(*), sum(s1.id * s6.id) FROM s1{asof}, s2{asof}, s3{asof}, \
              s4{asof}, s5{asof}, s6{asof}, s7{asof}, s8{asof} \
              WHERE s1.b = s5.a AND s5.b = s2.a AND s2.b = s7.a AND s7.b = s3.a \
              AND s3.b = s8.a AND s8.b = s4.a AND s4.b = s6.a AND s6.tag = 'even'",
        ordered: false,
        subquery: false,
    },
];
