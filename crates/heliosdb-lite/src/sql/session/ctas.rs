//! `CREATE TABLE name AS SELECT ...`, as SQLite does it: a table with one column per result
//! column (named after it, typed by its affinity: INT, REAL, TEXT, NUM or none; no
//! constraints), filled with the query's rows. The query may read tables `AS OF` a past
//! point, which is how a dropped or damaged table is restored from history:
//! `CREATE TABLE t AS SELECT * FROM t AS OF SCN 900`.

use super::Session;
use crate::error::{Error, Result};
use crate::mvcc::Transaction;
use crate::sql::catalog::Schema;
use crate::sql::engine::{Engine, Outcome, StmtEnv, StmtHistory};
use crate::sql::parser::{self, Parsed, ParsedStatement};
use crate::sql::planner::{table_name, Planner};
use crate::sql::value::{Affinity, Value};
use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::sync::Arc;

/// A name as a quoted SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The declared type SQLite gives a column made from an expression of this affinity.
fn type_for(affinity: Option<Affinity>) -> &'static str {
    match affinity {
        Some(Affinity::Integer) => " INT",
        Some(Affinity::Real) => " REAL",
        Some(Affinity::Text) => " TEXT",
        Some(Affinity::Numeric | Affinity::Decimal(_)) => " NUM",
        Some(Affinity::Blob) | None => "",
    }
}

/// The text of the query after `CREATE TABLE name AS`, as written.
fn query_text(text: &str) -> Result<&str> {
    let dialect = parser::HeliosDialect::default();
    let tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| Error::invalid(e.message))?;
    let mut depth = 0i32;
    for t in &tokens {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Word(w) if depth == 0 && w.keyword == Keyword::AS && w.quote_style.is_none() => {
                let (line, col) = (t.span.end.line as usize, t.span.end.column as usize);
                let start: usize = text
                    .split_inclusive('\n')
                    .take(line.saturating_sub(1))
                    .map(str::len)
                    .sum();
                let rest = &text[start..];
                let at = rest
                    .char_indices()
                    .nth(col.saturating_sub(1))
                    .map_or(rest.len(), |(b, _)| b);
                return Ok(&text[start + at..]);
            }
            _ => {}
        }
    }
    Err(Error::invalid(
        "CREATE TABLE ... AS: no AS before the query",
    ))
}

impl Session {
    /// Runs `CREATE TABLE ... AS SELECT` inside `txn`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create_table_as(
        &mut self,
        engine: &Engine,
        txn: &mut Transaction,
        schema: &Arc<Schema>,
        stmt: &ParsedStatement,
        ct: &ast::CreateTable,
        query: &ast::Query,
        params: &[Value],
        env: &StmtEnv,
    ) -> Result<Outcome> {
        let name = table_name(&ct.name)?;
        if !schema.check_new_relation(&name, ct.if_not_exists)? {
            return Ok(Outcome::default());
        }
        if !ct.columns.is_empty() {
            return Err(Error::invalid(
                "CREATE TABLE ... AS SELECT takes its columns from the query; declare none",
            ));
        }
        let columns = {
            let mut history = StmtHistory::new(engine);
            let mut planner = Planner::new(schema.clone(), &mut history, params, env, stmt);
            planner.plan_query(query)?.1
        };
        // Repeated names get a ":n" suffix, as SQLite gives them.
        let mut names: Vec<String> = Vec::new();
        let mut defs = Vec::new();
        for c in &columns {
            let mut n = c.name.clone();
            let mut k = 0;
            while names.iter().any(|x| x.eq_ignore_ascii_case(&n)) {
                k += 1;
                n = format!("{}:{k}", c.name);
            }
            defs.push(format!("{}{}", quoted(&n), type_for(c.affinity)));
            names.push(n);
        }
        let create = format!("CREATE TABLE {}({})", quoted(&name), defs.join(", "));
        let parsed = parser::parse(&create)?;
        let Some(Parsed::Sql(create_stmt)) = parsed.first().map(|p| &p.statement) else {
            return Err(Error::invalid("internal: CREATE TABLE ... AS"));
        };
        crate::sql::ddl::run(
            engine,
            txn,
            schema,
            &parsed[0],
            create_stmt,
            env,
            &self.limits,
        )?;
        // The rows: the query, as written (time-travel clauses included), inserted.
        let insert = format!("INSERT INTO {} {}", quoted(&name), query_text(&stmt.text)?);
        let parsed = parser::parse(&insert)?;
        let Some(Parsed::Sql(insert_stmt)) = parsed.first().map(|p| &p.statement) else {
            return Err(Error::invalid("internal: CREATE TABLE ... AS"));
        };
        let mut history = StmtHistory::new(engine);
        let mut stack = Vec::new();
        let schema = engine.schema_for(txn, true)?;
        let enforce = !self.foreign_keys_off;
        let parts = (params, env as &dyn crate::sql::functions::FnEnv, &parsed[0]);
        let mut ctx = self.internal_dml(schema, parts, &mut history, &mut stack, enforce);
        ctx.run(txn, insert_stmt)?;
        Ok(Outcome::default())
    }
}
