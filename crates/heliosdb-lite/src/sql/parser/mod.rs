//! SQL text to sqlparser statements, with HeliosDB's time-travel clause.
//!
//! sqlparser-rs parses SQLite's dialect, and already understands `FOR SYSTEM_TIME AS OF <expr>`
//! right after a table name when the dialect enables table versioning. Our clause has more
//! modes and may follow an alias, so before parsing we rewrite tokens: each
//! `AS OF TIMESTAMP|TRANSACTION|SCN <expr>`, `BEFORE TRANSACTION <expr>` or
//! `FOR SYSTEM_TIME AS OF <expr>` is moved right after its table name as
//! `FOR SYSTEM_TIME AS OF helios_as_of('<mode>', <expr>)`. Inserted tokens carry the source
//! position of the clause, so error positions still point into the caller's text.

use crate::error::{Error, Result};
use crate::sql::value::Value;
use sqlparser::ast::{self, SetExpr, Statement};
use sqlparser::dialect::{Dialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Word};
use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex};

pub mod frame_exclude;
pub mod pragma;
mod shape;
mod split;
pub mod trigger;

/// Name of the marker function carrying a time-travel clause through sqlparser.
pub const AS_OF_FUNCTION: &str = "helios_as_of";

/// The alias the planner gives the subquery of a row-value `IN` (see `planner/row_value.rs`).
pub const ROW_IN_ALIAS: &str = "helios_row_in";

/// Names the engine writes into statements for its own use (markers of clauses sqlparser
/// lacks, aliases of rewrites). SQL that contains one, quoted or not, is refused before it
/// is rewritten, so that no statement can take on their internal meaning.
pub const RESERVED_NAMES: [&str; 3] = [
    AS_OF_FUNCTION,
    frame_exclude::FRAME_EXCLUDE_FUNCTION,
    ROW_IN_ALIAS,
];

/// The error for a token that is one of [`RESERVED_NAMES`], if `t` is one.
fn reserved_name(t: &TokenWithSpan) -> Option<Error> {
    let w = word(&t.token)?;
    // Cheap test first: every reserved name starts with `helios_`.
    if !w
        .value
        .as_bytes()
        .get(..7)?
        .eq_ignore_ascii_case(b"helios_")
    {
        return None;
    }
    let name = RESERVED_NAMES
        .iter()
        .find(|n| w.value.eq_ignore_ascii_case(n))?;
    Some(syntax_error(
        format!("{name} is a name reserved for the engine's internal use"),
        t.span.start.line,
        t.span.start.column,
        Some(t.token.to_string()),
    ))
}

/// Nesting limit for expressions and subqueries (guards the stack against hostile input).
pub const MAX_DEPTH: usize = 200;

/// SQLite's dialect with table versioning switched on.
#[derive(Debug, Default)]
pub struct HeliosDialect {
    inner: SQLiteDialect,
}

impl Dialect for HeliosDialect {
    // SQLite-only syntax in sqlparser is gated on the dialect's TypeId.
    fn dialect(&self) -> TypeId {
        TypeId::of::<SQLiteDialect>()
    }
    fn supports_table_versioning(&self) -> bool {
        true
    }
    /// `WITH c AS [NOT] MATERIALIZED (...)`, which SQLite reads since 3.35.
    fn supports_cte_materialization(&self) -> bool {
        true
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.inner.is_delimited_identifier_start(ch)
    }
    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.inner.identifier_quote_style(identifier)
    }
    fn ordered_bind_placeholder_style(&self) -> Option<sqlparser::dialect::BindPlaceholderStyle> {
        self.inner.ordered_bind_placeholder_style()
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        self.inner.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        self.inner.is_identifier_part(ch)
    }
    fn supports_filter_during_aggregation(&self) -> bool {
        self.inner.supports_filter_during_aggregation()
    }
    fn supports_start_transaction_modifier(&self) -> bool {
        self.inner.supports_start_transaction_modifier()
    }
    fn parse_statement(&self, parser: &mut Parser) -> Option<Result<Statement, ParserError>> {
        self.inner.parse_statement(parser)
    }
    fn parse_data_type(
        &self,
        parser: &mut Parser,
    ) -> Option<Result<sqlparser::ast::DataType, ParserError>> {
        self.inner.parse_data_type(parser)
    }
    /// A literal (number, string, blob) is its value. sqlparser would first try to read a
    /// data type there (for `DATE '2024-01-01'`), which cannot succeed on a literal but
    /// formats an error message each time it fails: a tenth of the time a dump script of
    /// VALUES rows took to parse.
    ///
    /// A keyword SQLite reserves that cannot begin an expression (`FROM`, `WHERE`, `AND`...)
    /// is a syntax error there: sqlparser would read it as a column name, so that
    /// `SELECT 1 + FROM t` meant `SELECT 1 + "FROM" AS t`.
    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<ast::Expr, ParserError>> {
        let next = parser.peek_token_ref();
        match &next.token {
            Token::Number(..) | Token::SingleQuotedString(_) | Token::HexStringLiteral(_) => {
                Some(parser.parse_value().map(ast::Expr::Value))
            }
            Token::Word(w) if w.quote_style.is_none() && ends_an_expression(w.keyword) => {
                Some(Err(missing_operand(next)))
            }
            // sqlparser falls back to reading a `NOT` without its operand as a column name.
            Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::NOT => {
                let operand = parser.peek_nth_token_ref(1);
                let missing = match &operand.token {
                    Token::Word(w) => w.quote_style.is_none() && ends_an_expression(w.keyword),
                    Token::EOF | Token::Comma | Token::RParen | Token::SemiColon => true,
                    _ => false,
                };
                missing.then(|| Err(missing_operand(operand)))
            }
            _ => None,
        }
    }
    /// `x NOT GLOB y`, which sqlparser's SQLite dialect does not read (it has `x GLOB y`), is
    /// `NOT (x GLOB y)`.
    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &sqlparser::ast::Expr,
        precedence: u8,
    ) -> Option<Result<sqlparser::ast::Expr, ParserError>> {
        if parser.parse_keywords(&[Keyword::NOT, Keyword::GLOB]) {
            let right = match parser.parse_subexpr(precedence) {
                Ok(e) => e,
                Err(e) => return Some(Err(e)),
            };
            let glob = ast::Expr::BinaryOp {
                left: Box::new(expr.clone()),
                op: ast::BinaryOperator::Glob,
                right: Box::new(right),
            };
            return Some(Ok(ast::Expr::UnaryOp {
                op: ast::UnaryOperator::Not,
                expr: Box::new(ast::Expr::Nested(Box::new(glob))),
            }));
        }
        self.inner.parse_infix(parser, expr, precedence)
    }
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        self.inner.get_next_precedence(parser)
    }
    fn prec_value(&self, prec: sqlparser::dialect::Precedence) -> u8 {
        self.inner.prec_value(prec)
    }
    fn supports_in_empty_list(&self) -> bool {
        self.inner.supports_in_empty_list()
    }
    fn supports_limit_comma(&self) -> bool {
        self.inner.supports_limit_comma()
    }
    fn supports_asc_desc_in_column_definition(&self) -> bool {
        self.inner.supports_asc_desc_in_column_definition()
    }
    fn supports_dollar_placeholder(&self) -> bool {
        self.inner.supports_dollar_placeholder()
    }
    fn supports_notnull_operator(&self) -> bool {
        self.inner.supports_notnull_operator()
    }
    fn supports_is_operator(&self) -> bool {
        self.inner.supports_is_operator()
    }
    fn supports_comma_separated_trim(&self) -> bool {
        self.inner.supports_comma_separated_trim()
    }
    fn supports_numeric_literal_underscores(&self) -> bool {
        self.inner.supports_numeric_literal_underscores()
    }
    fn supports_double_eq_assignment(&self) -> bool {
        self.inner.supports_double_eq_assignment()
    }
    fn supports_string_literal_column_names(&self) -> bool {
        self.inner.supports_string_literal_column_names()
    }
    fn supports_cast_empty_data_type_to_unspecified(&self) -> bool {
        self.inner.supports_cast_empty_data_type_to_unspecified()
    }
    fn supports_national_string_literal(&self) -> bool {
        self.inner.supports_national_string_literal()
    }
    fn supports_parens_around_table_factor(&self) -> bool {
        self.inner.supports_parens_around_table_factor()
    }
    fn supports_unterminated_block_comments(&self) -> bool {
        self.inner.supports_unterminated_block_comments()
    }
    fn is_column_alias(&self, kw: &Keyword, parser: &mut Parser) -> bool {
        self.inner.is_column_alias(kw, parser)
    }
    fn supports_over_keyword_as_column_alias(&self) -> bool {
        self.inner.supports_over_keyword_as_column_alias()
    }
    fn supports_indexed_by(&self) -> bool {
        self.inner.supports_indexed_by()
    }
    fn is_table_alias(&self, kw: &Keyword, parser: &mut Parser) -> bool {
        self.inner.is_table_alias(kw, parser)
    }
    fn supports_comma_join_constraint(&self) -> bool {
        self.inner.supports_comma_join_constraint()
    }
    fn supports_aggregate_order_by_with_empty_args(&self) -> bool {
        self.inner.supports_aggregate_order_by_with_empty_args()
    }
    fn supports_bitwise_shift_operators(&self) -> bool {
        self.inner.supports_bitwise_shift_operators()
    }
    fn supports_in_table_expression(&self) -> bool {
        self.inner.supports_in_table_expression()
    }
    fn is_table_factor(&self, kw: &Keyword, parser: &mut Parser) -> bool {
        self.inner.is_table_factor(kw, parser)
    }
    fn between_low_bound_precedence(&self) -> u8 {
        self.inner.between_low_bound_precedence()
    }
}

/// sqlparser's error for a token found where an operand should be (its position is read back
/// by [`map_parser_error`]).
fn missing_operand(found: &TokenWithSpan) -> ParserError {
    ParserError::ParserError(format!(
        "Expected: an expression, found: {} at Line: {}, Column: {}",
        found.token, found.span.start.line, found.span.start.column
    ))
}

/// Keywords SQLite reserves (they are not in its grammar's fallback-to-identifier list) that
/// cannot start an expression: clause and join words, binary operators, CASE's inner words.
/// Where sqlparser looks for an expression and finds one of them, the expression is missing.
fn ends_an_expression(kw: Keyword) -> bool {
    matches!(
        kw,
        Keyword::FROM
            | Keyword::WHERE
            | Keyword::GROUP
            | Keyword::HAVING
            | Keyword::ORDER
            | Keyword::LIMIT
            | Keyword::UNION
            | Keyword::INTERSECT
            | Keyword::EXCEPT
            | Keyword::ON
            | Keyword::USING
            | Keyword::JOIN
            | Keyword::AND
            | Keyword::OR
            | Keyword::IS
            | Keyword::IN
            | Keyword::BETWEEN
            | Keyword::ESCAPE
            | Keyword::COLLATE
            | Keyword::AS
            | Keyword::INTO
            | Keyword::SET
            | Keyword::THEN
            | Keyword::ELSE
            | Keyword::WHEN
            | Keyword::RETURNING
    )
}

/// Parses an expression from SQL text.
pub fn parse_expr(text: &str) -> Result<ast::Expr> {
    let dialect = HeliosDialect::default();
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::invalid(format!("invalid expression '{text}': {e}")))
}

/// One parsed statement.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A statement sqlparser understands.
    Sql(Box<Statement>),
    /// `VACUUM HISTORY`: run history GC now.
    VacuumHistory,
    /// `VACUUM [main]` (a checkpoint) or `VACUUM [main] INTO file`, where the file name
    /// expression is kept as the query `SELECT file` (SQLite accepts any expression there,
    /// parameters included).
    Vacuum(Option<Box<ParsedStatement>>),
    /// `REINDEX [name]`: indexes are maintained transactionally, so this only checks the name.
    Reindex(Option<String>),
    /// `ANALYZE [name]`: gather index statistics (see `sql::analyze`).
    Analyze(Option<String>),
    /// `CREATE TRIGGER ...`.
    CreateTrigger(Box<trigger::CreateTrigger>),
    /// `PRAGMA ...`, parsed by SQLite's grammar (sqlparser's refuses `PRAGMA x = ON`).
    Pragma(pragma::Pragma),
}

/// A parsed statement with its source text.
#[derive(Debug, Clone)]
pub struct ParsedStatement {
    /// The statement.
    pub statement: Parsed,
    /// The statement's text as written (without the trailing semicolon).
    pub text: String,
    /// Number of `?` / `?N` / `:name` placeholders (the highest number used).
    pub param_count: usize,
    /// Names of named parameters, by position (1-based index = position + 1).
    pub param_names: Vec<Option<String>>,
    /// Parameter index (0-based) of each anonymous `?`, by its (line, column).
    pub param_positions: std::collections::HashMap<(u64, u64), usize>,
    /// The bound plan of a query, reused while the schema it was bound against is current.
    pub plan_cache: CacheSlot,
    /// The bound form of an INSERT, UPDATE or DELETE, reused the same way.
    pub dml_cache: CacheSlot,
    /// Common table expressions written before an UPDATE or DELETE (the statement itself has
    /// no place for them; see `dml/joined.rs`).
    pub dml_with: Option<ast::With>,
}

impl ParsedStatement {
    /// A statement with empty plan caches.
    pub fn new(
        statement: Parsed,
        text: String,
        param_count: usize,
        param_names: Vec<Option<String>>,
        param_positions: std::collections::HashMap<(u64, u64), usize>,
    ) -> Self {
        Self {
            statement,
            text,
            param_count,
            param_names,
            param_positions,
            plan_cache: Default::default(),
            dml_cache: Default::default(),
            dml_with: None,
        }
    }

    /// A stand-in statement for binding expressions outside any statement (stored defaults,
    /// CHECK constraints).
    pub fn placeholder() -> Self {
        Self::new(
            Parsed::VacuumHistory,
            String::new(),
            0,
            Vec::new(),
            Default::default(),
        )
    }
}

/// Where a layer above the parser keeps what it derived from one statement (its bound plan),
/// so that running the same statement again skips that work. The parser cannot name those
/// types (plans are built above it), so the slot holds any shared value and hands it back
/// only as the type it was stored as.
#[derive(Clone, Default)]
pub struct CacheSlot(Arc<Mutex<Option<Arc<dyn Any + Send + Sync>>>>);

impl CacheSlot {
    /// The cached value, if one of type `T` is there.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let held = crate::mvcc::lock(&self.0).clone()?;
        held.downcast::<T>().ok()
    }

    /// Replaces the cached value.
    pub fn set<T: Any + Send + Sync>(&self, value: Arc<T>) {
        *crate::mvcc::lock(&self.0) = Some(value);
    }
}

impl std::fmt::Debug for CacheSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let filled = crate::mvcc::lock(&self.0).is_some();
        f.debug_struct("CacheSlot")
            .field("filled", &filled)
            .finish()
    }
}

fn word(t: &Token) -> Option<&Word> {
    match t {
        Token::Word(w) => Some(w),
        _ => None,
    }
}

fn is_kw(t: &Token, kw: Keyword) -> bool {
    word(t).is_some_and(|w| w.keyword == kw && w.quote_style.is_none())
}

fn is_ws(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

fn syntax_error(message: String, line: u64, column: u64, token: Option<String>) -> Error {
    Error::Syntax {
        message,
        line,
        column,
        token,
    }
}

/// Converts a sqlparser error into ours, extracting the position and token it names.
fn map_parser_error(e: ParserError) -> Error {
    let msg = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => {
            return Error::LimitExceeded(format!(
                "statement nesting is deeper than {MAX_DEPTH} levels"
            ))
        }
    };
    let (text, line, column) = match msg.rfind(" at Line: ") {
        Some(i) => {
            let pos = &msg[i + 10..];
            let mut parts = pos.split(", Column: ");
            let line = parts
                .next()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(0);
            let column = parts
                .next()
                .and_then(|c| c.trim().parse().ok())
                .unwrap_or(0);
            (msg[..i].to_string(), line, column)
        }
        None => (msg.clone(), 0, 0),
    };
    let token = text
        .rfind("found: ")
        .map(|i| text[i + 7..].trim().to_string())
        .filter(|t| !t.is_empty());
    // A long token (a 1 MB string literal) is named by its start only.
    let (text, token) = match token {
        Some(t) if t.chars().count() > MAX_TOKEN_ECHO => {
            let short = format!("{}...", t.chars().take(MAX_TOKEN_ECHO).collect::<String>());
            (text.replace(&t, &short), Some(short))
        }
        t => (text, t),
    };
    syntax_error(text, line, column, token)
}

/// Longest token quoted whole in a syntax error.
const MAX_TOKEN_ECHO: usize = 40;

/// sqlparser reports running out of tokens as `found: EOF` with no position; say that the
/// statement ended early, and where it ended.
fn place_end_of_statement(e: Error, end: (u64, u64)) -> Error {
    match e {
        Error::Syntax {
            message,
            line: 0,
            token: Some(t),
            ..
        } if t == "EOF" => {
            let expected = message
                .strip_prefix("Expected: ")
                .and_then(|m| m.rsplit_once(", found"))
                .map_or(message.as_str(), |(m, _)| m);
            syntax_error(
                format!("the statement ends early; expected {expected} next"),
                end.0,
                end.1,
                None,
            )
        }
        other => other,
    }
}

/// The error for a join the planner does not run, naming the join as the user wrote it and
/// what to write instead (never the parser's internal structure).
pub fn unsupported_join(op: &sqlparser::ast::JoinOperator) -> Error {
    // The variant's name (`LeftSemi`, `CrossApply`...) in SQL spelling.
    let debug = format!("{op:?}");
    let name = debug.split('(').next().unwrap_or("");
    let mut words = String::new();
    for c in name.chars() {
        if c.is_uppercase() && !words.is_empty() {
            words.push(' ');
        }
        words.push(c.to_ascii_uppercase());
    }
    Error::Unsupported(format!(
        "{words} JOIN; use JOIN, LEFT JOIN, RIGHT JOIN, FULL JOIN or CROSS JOIN"
    ))
}

/// Splits `sql` into statements and parses each.
pub fn parse(sql: &str) -> Result<Vec<ParsedStatement>> {
    parse_lazily(sql)?.collect()
}

/// Splits `sql` into statements; each is parsed when the iterator reaches it, so a script
/// can run the statements before a malformed one. The script is also tokenized as the
/// iterator goes, a piece at a time ([`split`]), so memory follows the statement, not the
/// script: a tokenizer error (an unterminated quote, say) comes when the iterator reaches it.
pub fn parse_lazily(sql: &str) -> Result<impl Iterator<Item = Result<ParsedStatement>> + '_> {
    Ok(statements(sql))
}

/// A fresh [`Statements`] iterator over `sql`.
fn statements(sql: &str) -> Statements<'_> {
    Statements {
        pieces: split::Pieces::new(sql),
        source: SourceMap::new(sql),
        dialect: HeliosDialect::default(),
        current: Vec::new(),
        scratch: Vec::new(),
        depth: 0,
        body: Default::default(),
        is_trigger: false,
        lead: Vec::with_capacity(3),
        ready: std::collections::VecDeque::new(),
        finished: false,
    }
}

pub use shape::ShapeCache;

/// A statement of a script run through [`parse_script`].
#[derive(Debug)]
pub enum ScriptStatement<'s> {
    /// Parsed as written.
    Parsed(Box<ParsedStatement>),
    /// An INSERT of literals whose shape was seen before: the shape's parse, shared, with
    /// the statement's literals as its parameters (see `shape.rs`).
    Shaped {
        /// The shape parsed as a statement with one parameter per literal.
        template: Arc<ParsedStatement>,
        /// The literals, parameter `n` at index `n - 1`.
        literals: Vec<Value>,
        /// The statement as written (without its `;`).
        text: &'s str,
    },
}

impl ScriptStatement<'_> {
    /// The statement to run.
    pub fn statement(&self) -> &ParsedStatement {
        match self {
            ScriptStatement::Parsed(p) => p,
            ScriptStatement::Shaped { template, .. } => template,
        }
    }

    /// The values to run it with (none for a statement parsed as written).
    pub fn params(&self) -> &[Value] {
        match self {
            ScriptStatement::Parsed(_) => &[],
            ScriptStatement::Shaped { literals, .. } => literals,
        }
    }

    /// The statement's text as written.
    pub fn text(&self) -> &str {
        match self {
            ScriptStatement::Parsed(p) => &p.text,
            ScriptStatement::Shaped { text, .. } => text,
        }
    }
}

/// Splits a script without parameters into statements as [`parse_lazily`] does, except that
/// INSERTs of literals whose shape `shapes` has seen before share one parse and plan (see
/// `shape.rs`): a dump or a generated script of many such statements is parsed about once
/// per table.
pub fn parse_script<'s>(
    sql: &'s str,
    shapes: &'s Mutex<ShapeCache>,
) -> Result<impl Iterator<Item = Result<ScriptStatement<'s>>> + 's> {
    Ok(Script {
        statements: statements(sql),
        shapes,
    })
}

/// The iterator of [`parse_script`].
struct Script<'s> {
    statements: Statements<'s>,
    shapes: &'s Mutex<ShapeCache>,
}

impl<'s> Script<'s> {
    /// The next statement as a shaped INSERT, if it is one with a template.
    fn shaped(&mut self) -> Option<ScriptStatement<'s>> {
        let st = &mut self.statements;
        // Only at a statement's start: the piece must hold the whole statement.
        if st.finished || !st.ready.is_empty() || !st.current.is_empty() {
            return None;
        }
        let piece = st.pieces.clone().next()?;
        let (template, literals, range) = shaped_insert(piece.text, self.shapes)?;
        st.pieces.next();
        Some(ScriptStatement::Shaped {
            template,
            literals,
            text: &piece.text[range],
        })
    }
}

/// `sql` (one statement) as an INSERT of literals whose shape `shapes` has seen before (see
/// `shape.rs`): the shape's template, the literals to run it with, and where the statement's
/// text lies in `sql` (trimmed, without its `;`). `None` for any other statement, and for
/// the first of its shape, which is to be parsed as written; either way the shape is noted
/// as seen.
pub fn shaped_insert(
    sql: &str,
    shapes: &Mutex<ShapeCache>,
) -> Option<(Arc<ParsedStatement>, Vec<Value>, std::ops::Range<usize>)> {
    let shaped = shape::shape_of(sql)?;
    let lookup = crate::mvcc::lock(shapes).lookup(&shaped.shape);
    let template = match lookup {
        shape::Lookup::Template(t) => t,
        shape::Lookup::Parse => return None,
        shape::Lookup::Second => {
            let t = template_of(&shaped);
            crate::mvcc::lock(shapes).settle(&shaped.shape, t.clone());
            t?
        }
    };
    Some((template, shaped.literals, shaped.text_range))
}

/// The shape's text parsed as one statement with a parameter per literal, if it is that.
fn template_of(shaped: &shape::Shaped) -> Option<Arc<ParsedStatement>> {
    let mut all = parse_lazily(&shaped.shape).ok()?;
    let first = all.next()?.ok()?;
    let one = all.next().is_none();
    let numbered =
        first.param_count == shaped.literals.len() && first.param_names.iter().all(Option::is_none);
    (one && numbered).then(|| Arc::new(first))
}

impl<'s> Iterator for Script<'s> {
    type Item = Result<ScriptStatement<'s>>;

    fn next(&mut self) -> Option<Result<ScriptStatement<'s>>> {
        if let Some(s) = self.shaped() {
            return Some(Ok(s));
        }
        self.statements
            .next()
            .map(|r| r.map(|p| ScriptStatement::Parsed(Box::new(p))))
    }
}

/// The iterator of [`parse_lazily`]: groups the tokens of each piece into statements (a `;`
/// ends one outside parentheses and trigger bodies) and parses each complete statement.
struct Statements<'s> {
    pieces: split::Pieces<'s>,
    source: SourceMap<'s>,
    dialect: HeliosDialect,
    /// Tokens of the statement being gathered.
    current: Vec<TokenWithSpan>,
    /// The tokens of the piece being grouped; kept between pieces so that its room is
    /// allocated once, not grown (and copied) again for every statement of a long dump.
    scratch: Vec<TokenWithSpan>,
    depth: i32,
    body: trigger::BodyTracker,
    is_trigger: bool,
    /// The statement's first significant tokens, enough to recognise `CREATE [TEMP]
    /// TRIGGER`; kept aside so that whitespace before them is not walked again per token.
    lead: Vec<Token>,
    /// Statements complete but not yet parsed (a piece usually completes one).
    ready: std::collections::VecDeque<Vec<TokenWithSpan>>,
    /// The script is exhausted or failed to tokenize.
    finished: bool,
}

impl Statements<'_> {
    /// Tokenizes the next piece and groups its tokens; false when no piece is left.
    fn feed_piece(&mut self) -> Result<bool> {
        let Some(piece) = self.pieces.next() else {
            return Ok(false);
        };
        // Token positions are relative to the piece: make them the script's.
        let place = |l: sqlparser::tokenizer::Location| {
            if l.line <= 1 {
                sqlparser::tokenizer::Location::new(piece.line, piece.column + l.column - 1)
            } else {
                sqlparser::tokenizer::Location::new(piece.line + l.line - 1, l.column)
            }
        };
        let mut tokens = std::mem::take(&mut self.scratch);
        tokens.clear();
        Tokenizer::new(&self.dialect, piece.text)
            .tokenize_with_location_into_buf_with_mapper(&mut tokens, |mut t| {
                t.span = sqlparser::tokenizer::Span::new(place(t.span.start), place(t.span.end));
                t
            })
            .map_err(|e| {
                let at = place(e.location);
                syntax_error(e.message.clone(), at.line, at.column, None)
            })?;
        for t in tokens.drain(..) {
            self.group(t);
        }
        self.scratch = tokens;
        Ok(true)
    }

    /// Adds a token to the statement being gathered, or ends it at a `;`.
    fn group(&mut self, t: TokenWithSpan) {
        match t.token {
            Token::LParen => self.depth += 1,
            Token::RParen => self.depth -= 1,
            _ => {}
        }
        if !is_ws(&t.token) {
            self.body.feed(&t.token, self.is_trigger);
        }
        if t.token == Token::SemiColon && self.depth <= 0 && !self.body.in_body() {
            // The next statement of a dump is likely as long as this one: give it the room
            // up front rather than growing it by doubling, a copy of every token each time.
            let room = self.current.len();
            let done = std::mem::replace(&mut self.current, Vec::with_capacity(room));
            self.ready.push_back(done);
            self.depth = 0;
            self.is_trigger = false;
            self.lead.clear();
            self.body = Default::default();
        } else {
            if is_ws(&t.token) {
                push_whitespace(&mut self.current, t);
                return;
            }
            if self.lead.len() < 3 {
                self.lead.push(t.token.clone());
                let sig: Vec<&Token> = self.lead.iter().collect();
                self.is_trigger = trigger::starts_create_trigger(&sig);
            }
            self.current.push(t);
        }
    }
}

impl Iterator for Statements<'_> {
    type Item = Result<ParsedStatement>;

    fn next(&mut self) -> Option<Result<ParsedStatement>> {
        loop {
            if let Some(group) = self.ready.pop_front() {
                match parse_one(&self.source, group, &self.dialect).transpose() {
                    Some(parsed) => return Some(parsed),
                    None => continue, // nothing but whitespace and comments
                }
            }
            if self.finished {
                return None;
            }
            match self.feed_piece() {
                Ok(true) => {}
                Ok(false) => {
                    // What follows the last `;` is a statement too (or only whitespace).
                    self.finished = true;
                    self.ready.push_back(std::mem::take(&mut self.current));
                }
                Err(e) => {
                    self.finished = true;
                    self.ready.clear();
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Appends a whitespace or comment token to a statement's tokens, as one space per run.
/// sqlparser steps over whitespace tokens one by one on every look-ahead, and it looks ahead
/// many times at each position, so a statement padded with a megabyte of spaces (one token per
/// character) took minutes. One token per run keeps what the parser may still ask about,
/// whether two tokens touch (`:name` is a parameter, `: name` is not), at a constant cost per
/// look-ahead. Only significant tokens' spans are used (statement text, error positions).
fn push_whitespace(tokens: &mut Vec<TokenWithSpan>, t: TokenWithSpan) {
    if tokens.last().is_some_and(|p| is_ws(&p.token)) {
        return;
    }
    tokens.push(TokenWithSpan {
        token: Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
        span: t.span,
    });
}

/// Byte offsets of a script's lines, computed once, so that finding a statement's text costs
/// the length of its own lines rather than of the whole script before it (a dump of 100K
/// INSERTs was quadratic).
struct SourceMap<'s> {
    sql: &'s str,
    line_starts: Vec<usize>,
    /// The last location looked up: (line, column, byte offset).
    cursor: std::cell::Cell<(u64, u64, usize)>,
}

impl<'s> SourceMap<'s> {
    fn new(sql: &'s str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            sql,
            line_starts,
            cursor: std::cell::Cell::new((0, 0, 0)),
        }
    }

    /// The byte offset of a 1-based (line, column in characters) location.
    ///
    /// Statements are looked up in order, so a lookup on the line of the previous one walks on
    /// from there: a script of many statements on one long line stays linear.
    fn offset(&self, line: u64, col: u64) -> usize {
        let Some(&line_start) = (line as usize)
            .checked_sub(1)
            .and_then(|i| self.line_starts.get(i))
        else {
            return self.sql.len();
        };
        let (from_col, from_byte) = match self.cursor.get() {
            (l, c, b) if l == line && c <= col => (c, b),
            _ => (1, line_start),
        };
        let mut byte = from_byte;
        let mut chars = self.sql[from_byte..].char_indices();
        for _ in from_col..col {
            match chars.next() {
                // A column past the end of its line: the line's end (after its newline).
                Some((i, '\n')) => return from_byte + i + 1,
                Some((i, c)) => byte = from_byte + i + c.len_utf8(),
                None => return self.sql.len(),
            }
        }
        self.cursor.set((line, col.max(1), byte));
        byte
    }

    /// The source text covered by the tokens.
    fn text(&self, tokens: &[TokenWithSpan]) -> String {
        let first = tokens.iter().find(|t| !is_ws(&t.token));
        let last = tokens.iter().rev().find(|t| !is_ws(&t.token));
        let (Some(first), Some(last)) = (first, last) else {
            return String::new();
        };
        let start = self.offset(first.span.start.line, first.span.start.column);
        let end = self.offset(last.span.end.line, last.span.end.column);
        self.sql
            .get(start..end.max(start))
            .unwrap_or("")
            .to_string()
    }
}

/// `VACUUM [schema] [INTO expr]` (after `VACUUM HISTORY` was ruled out): the file name
/// expression as a `SELECT`, if there is one. The only schema is `main`.
fn parse_vacuum(
    source: &SourceMap<'_>,
    tokens: &[TokenWithSpan],
    significant: &[&Token],
) -> Result<Option<Box<ParsedStatement>>> {
    let mut rest = &significant[1..];
    if let Some(first) = rest.first() {
        if !is_kw(first, Keyword::INTO) {
            let name = word(first).map(|w| w.value.clone());
            match name {
                Some(n) if n.eq_ignore_ascii_case("main") => rest = &rest[1..],
                Some(n) => return Err(Error::invalid(format!("unknown database {n}"))),
                None => {
                    return Err(syntax_error(
                        format!("near \"{first}\": syntax error"),
                        0,
                        0,
                        Some(first.to_string()),
                    ))
                }
            }
        }
    }
    match rest.first() {
        None => return Ok(None),
        Some(t) if is_kw(t, Keyword::INTO) && rest.len() > 1 => {}
        Some(t) => {
            return Err(syntax_error(
                format!("near \"{t}\": syntax error"),
                0,
                0,
                Some(t.to_string()),
            ))
        }
    }
    // The expression is the source text after INTO: its tokens keep their original spelling.
    let into = tokens
        .iter()
        .position(|t| is_kw(&t.token, Keyword::INTO))
        .expect("INTO was found among the significant tokens");
    let mut parsed = parse(&format!("SELECT {}", source.text(&tokens[into + 1..])))?;
    if parsed.len() != 1 {
        return Err(Error::invalid("VACUUM INTO takes one file name expression"));
    }
    Ok(Some(Box::new(parsed.remove(0))))
}

fn parse_one(
    source: &SourceMap<'_>,
    tokens: Vec<TokenWithSpan>,
    dialect: &HeliosDialect,
) -> Result<Option<ParsedStatement>> {
    let significant_spans: Vec<&TokenWithSpan> =
        tokens.iter().filter(|t| !is_ws(&t.token)).collect();
    let significant: Vec<&Token> = significant_spans.iter().map(|t| &t.token).collect();
    if significant.is_empty() {
        return Ok(None);
    }
    if let Some(e) = significant_spans.iter().find_map(|t| reserved_name(t)) {
        return Err(e);
    }
    let text = source.text(&tokens);
    let (param_count, param_names, param_positions) = count_params(&significant_spans)?;
    if significant.len() == 2
        && is_kw(significant[0], Keyword::VACUUM)
        && word(significant[1]).is_some_and(|w| w.value.eq_ignore_ascii_case("history"))
    {
        return Ok(Some(ParsedStatement::new(
            Parsed::VacuumHistory,
            text,
            param_count,
            param_names,
            param_positions,
        )));
    }
    if is_kw(significant[0], Keyword::VACUUM) {
        let vacuum = parse_vacuum(source, &tokens, &significant)?;
        return Ok(Some(ParsedStatement::new(
            Parsed::Vacuum(vacuum),
            text,
            param_count,
            param_names,
            param_positions,
        )));
    }
    if is_kw(significant[0], Keyword::REINDEX)
        || word(significant[0]).is_some_and(|w| w.value.eq_ignore_ascii_case("reindex"))
    {
        let name = match significant.get(1..) {
            Some([]) | None => None,
            Some([t]) => Some(
                word(t)
                    .map(|w| w.value.clone())
                    .unwrap_or_else(|| t.to_string()),
            ),
            Some(_) => {
                return Err(syntax_error(
                    "REINDEX takes at most one name".into(),
                    0,
                    0,
                    None,
                ))
            }
        };
        return Ok(Some(ParsedStatement::new(
            Parsed::Reindex(name),
            text,
            param_count,
            param_names,
            param_positions,
        )));
    }
    if is_kw(significant[0], Keyword::ANALYZE) {
        // `ANALYZE`, `ANALYZE name`, `ANALYZE schema.name`.
        let parts: Vec<String> = significant[1..]
            .iter()
            .filter(|t| !matches!(t, Token::Period))
            .map(|t| word(t).map(|w| w.value.clone()))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
        let name = match (significant.len(), parts.as_slice()) {
            (1, _) => None,
            (2, [n]) => Some(n.clone()),
            (4, [s, n]) if matches!(significant[2], Token::Period) => Some(format!("{s}.{n}")),
            _ => {
                return Err(syntax_error(
                    "ANALYZE takes at most one name (a table, an index or main)".into(),
                    0,
                    0,
                    None,
                ))
            }
        };
        return Ok(Some(ParsedStatement::new(
            Parsed::Analyze(name),
            text,
            param_count,
            param_names,
            param_positions,
        )));
    }
    if pragma::starts_pragma(&significant) {
        return Ok(Some(ParsedStatement::new(
            Parsed::Pragma(pragma::parse(&significant)?),
            text,
            param_count,
            param_names,
            param_positions,
        )));
    }
    if trigger::starts_create_trigger(&significant) {
        let ct = trigger::parse_create(&tokens, &|ts| source.text(ts), text.clone())?;
        return Ok(Some(ParsedStatement::new(
            Parsed::CreateTrigger(Box::new(ct)),
            text,
            param_count,
            param_names,
            param_positions,
        )));
    }
    let tokens = frame_exclude::rewrite_frame_exclusions(rewrite_as_of(tokens)?);
    // Where the statement ends, for an error about its end: the parser takes the tokens
    // (copying them instead cost a tenth of loading a dump script).
    let end = tokens
        .iter()
        .rev()
        .find(|t| !is_ws(&t.token))
        .map_or((0, 0), |t| (t.span.end.line, t.span.end.column));
    let mut parser = Parser::new(dialect)
        .with_recursion_limit(MAX_DEPTH)
        .with_tokens_with_locations(tokens);
    let statement = parser
        .parse_statement()
        .map_err(|e| place_end_of_statement(map_parser_error(e), end))?;
    // Anything left over (other than whitespace) is an error.
    let next = parser.peek_token();
    if next.token != Token::EOF {
        let mut shown = next.token.to_string();
        if shown.chars().count() > MAX_TOKEN_ECHO {
            shown = format!(
                "{}...",
                shown.chars().take(MAX_TOKEN_ECHO).collect::<String>()
            );
        }
        return Err(syntax_error(
            format!("unexpected {shown} after the end of the statement"),
            next.span.start.line,
            next.span.start.column,
            Some(shown),
        ));
    }
    let (statement, dml_with) = split_with_from_dml(statement);
    let mut parsed = ParsedStatement::new(
        Parsed::Sql(Box::new(hoist_with_into_insert(statement))),
        text,
        param_count,
        param_names,
        param_positions,
    );
    parsed.dml_with = dml_with;
    Ok(Some(parsed))
}

/// `WITH ... UPDATE` / `WITH ... DELETE`: sqlparser nests the statement inside a query; it
/// comes out as the UPDATE or DELETE it is, with its common table expressions beside it.
fn split_with_from_dml(statement: Statement) -> (Statement, Option<ast::With>) {
    let Statement::Query(query) = statement else {
        return (statement, None);
    };
    if query.with.is_none()
        || query.order_by.is_some()
        || query.limit_clause.is_some()
        || !matches!(
            *query.body,
            SetExpr::Update(Statement::Update(_)) | SetExpr::Delete(Statement::Delete(_))
        )
    {
        return (Statement::Query(query), None);
    }
    let query = *query;
    match *query.body {
        SetExpr::Update(s) | SetExpr::Delete(s) => (s, query.with),
        _ => unreachable!("checked above"),
    }
}

/// Counts placeholders the way SQLite numbers them: `?` takes the next number, `?N` uses N,
/// `:name` / `@name` / `$name` take the next number unless the name was seen before.
type ParamInfo = (
    usize,
    Vec<Option<String>>,
    std::collections::HashMap<(u64, u64), usize>,
);

fn count_params(tokens: &[&TokenWithSpan]) -> Result<ParamInfo> {
    let mut names: Vec<Option<String>> = Vec::new();
    let mut positions = std::collections::HashMap::new();
    let mut i = 0;
    while i < tokens.len() {
        let tok = &tokens[i].token;
        // The tokenizer splits `:name` / `@name` into two tokens; the parser rejoins them.
        let joined = match (tok, tokens.get(i + 1).and_then(|t| word(&t.token))) {
            (Token::Colon, Some(w)) => Some(format!(":{}", w.value)),
            (Token::AtSign, Some(w)) => Some(format!("@{}", w.value)),
            _ => None,
        };
        let at = (tokens[i].span.start.line, tokens[i].span.start.column);
        let name = match (joined, tok) {
            (Some(n), _) => {
                i += 1;
                Some(n)
            }
            (None, Token::Placeholder(p)) => Some(p.clone()),
            _ => None,
        };
        i += 1;
        let Some(p) = name else { continue };
        if p == "?" {
            names.push(None);
            positions.insert(at, names.len() - 1);
        } else if let Some(n) = p.strip_prefix('?') {
            let n: usize = n
                .parse()
                .ok()
                .filter(|&n| (1..=32766).contains(&n))
                .ok_or_else(|| Error::Parameter(format!("invalid parameter number {p}")))?;
            if names.len() < n {
                names.resize(n, None);
            }
        } else if !names.iter().any(|x| x.as_deref() == Some(p.as_str())) {
            names.push(Some(p));
        }
    }
    Ok((names.len(), names, positions))
}

/// Which kind of point a time-travel clause names. The parser recognises the clause and
/// carries its kind to the planner inside the rewritten SQL (sqlparser's AST has no place
/// for it), where [`TimeTravelMode::from_name`] turns it back into this type at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeTravelMode {
    /// `AS OF TIMESTAMP ts`.
    Timestamp,
    /// `AS OF TRANSACTION n`: right after transaction n committed.
    Transaction,
    /// `AS OF SCN n`.
    Scn,
    /// `BEFORE TRANSACTION n`: right before transaction n committed.
    BeforeTransaction,
}

impl TimeTravelMode {
    /// The name the rewritten SQL carries (`helios_as_of('<name>', point)`).
    pub fn name(self) -> &'static str {
        match self {
            TimeTravelMode::Timestamp => "timestamp",
            TimeTravelMode::Transaction => "transaction",
            TimeTravelMode::Scn => "scn",
            TimeTravelMode::BeforeTransaction => "before_transaction",
        }
    }

    /// The mode a rewritten clause names; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            TimeTravelMode::Timestamp,
            TimeTravelMode::Transaction,
            TimeTravelMode::Scn,
            TimeTravelMode::BeforeTransaction,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

/// Indices of the significant (non-whitespace) tokens.
fn significant_indices(tokens: &[TokenWithSpan]) -> Vec<usize> {
    (0..tokens.len())
        .filter(|&i| !is_ws(&tokens[i].token))
        .collect()
}

/// Recognises a time-travel clause starting at significant position `p`; returns its mode
/// and the number of significant tokens of its keywords.
fn clause_at(tokens: &[TokenWithSpan], sig: &[usize], p: usize) -> Option<(TimeTravelMode, usize)> {
    let t = |k: usize| sig.get(p + k).map(|&i| &tokens[i].token);
    let word_is = |k: usize, s: &str| {
        t(k).and_then(word)
            .is_some_and(|w| w.quote_style.is_none() && w.value.eq_ignore_ascii_case(s))
    };
    if word_is(0, "AS") && word_is(1, "OF") {
        if word_is(2, "TIMESTAMP") {
            return Some((TimeTravelMode::Timestamp, 3));
        }
        if word_is(2, "TRANSACTION") {
            return Some((TimeTravelMode::Transaction, 3));
        }
        if word_is(2, "SCN") {
            return Some((TimeTravelMode::Scn, 3));
        }
    }
    if word_is(0, "BEFORE") && word_is(1, "TRANSACTION") {
        return Some((TimeTravelMode::BeforeTransaction, 2));
    }
    if word_is(0, "FOR") && word_is(1, "SYSTEM_TIME") && word_is(2, "AS") && word_is(3, "OF") {
        return Some((TimeTravelMode::Timestamp, 4));
    }
    None
}

fn is_time_unit(w: &Word) -> bool {
    let v = w.value.to_ascii_uppercase();
    let v = v.strip_suffix('S').unwrap_or(&v);
    matches!(
        v,
        "MICROSECOND"
            | "MILLISECOND"
            | "SECOND"
            | "MINUTE"
            | "HOUR"
            | "DAY"
            | "WEEK"
            | "MONTH"
            | "YEAR"
    )
}

/// Finds where the clause's expression ends (exclusive, in significant positions).
fn expression_end(tokens: &[TokenWithSpan], sig: &[usize], start: usize) -> Result<usize> {
    let tok = |p: usize| sig.get(p).map(|&i| &tokens[i].token);
    let skip_group = |mut p: usize| -> usize {
        let mut depth = 0;
        while let Some(t) = tok(p) {
            match t {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        return p + 1;
                    }
                }
                _ => {}
            }
            p += 1;
        }
        p
    };
    let mut p = start;
    let mut expect_operand = true;
    while let Some(t) = tok(p) {
        if expect_operand {
            match t {
                Token::LParen => {
                    p = skip_group(p);
                    expect_operand = false;
                }
                Token::Minus | Token::Plus => p += 1,
                Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::INTERVAL => {
                    p += 1;
                    if matches!(tok(p), Some(Token::LParen)) {
                        p = skip_group(p);
                    } else if tok(p).is_some() {
                        p += 1;
                    }
                    if let Some(Token::Word(u)) = tok(p) {
                        if is_time_unit(u) {
                            p += 1;
                        }
                    }
                    expect_operand = false;
                }
                Token::Word(w)
                    if w.quote_style.is_none()
                        && matches!(w.keyword, Keyword::TIMESTAMP | Keyword::DATE)
                        && matches!(tok(p + 1), Some(Token::SingleQuotedString(_))) =>
                {
                    p += 2;
                    expect_operand = false;
                }
                Token::Word(_) => {
                    p += 1;
                    if matches!(tok(p), Some(Token::LParen)) {
                        p = skip_group(p);
                    }
                    expect_operand = false;
                }
                // `:name` / `@name`: the tokenizer splits a named parameter in two.
                Token::Colon | Token::AtSign if matches!(tok(p + 1), Some(Token::Word(_))) => {
                    p += 2;
                    expect_operand = false;
                }
                Token::Number(..)
                | Token::SingleQuotedString(_)
                | Token::DoubleQuotedString(_)
                | Token::Placeholder(_) => {
                    p += 1;
                    expect_operand = false;
                }
                _ => break,
            }
        } else {
            match t {
                Token::Plus
                | Token::Minus
                | Token::Mul
                | Token::Div
                | Token::Mod
                | Token::StringConcat => {
                    p += 1;
                    expect_operand = true;
                }
                _ => break,
            }
        }
    }
    if p == start || expect_operand {
        let at = sig
            .get(p.min(sig.len().saturating_sub(1)))
            .map(|&i| &tokens[i]);
        return Err(syntax_error(
            "time-travel clause needs a point: AS OF TIMESTAMP '...', AS OF TRANSACTION n, \
             AS OF SCN n or BEFORE TRANSACTION n"
                .into(),
            at.map_or(0, |t| t.span.start.line),
            at.map_or(0, |t| t.span.start.column),
            at.map(|t| t.token.to_string()),
        ));
    }
    Ok(p)
}

/// Where the table name ends, for a clause starting at significant position `c`: returns the
/// significant position before which the moved clause goes. A clause after a subquery is
/// refused with its own message: the clause names a table's history, and a subquery has none.
fn insertion_point(tokens: &[TokenWithSpan], sig: &[usize], c: usize) -> Result<usize> {
    let tok = |p: usize| sig.get(p).map(|&i| &tokens[i].token);
    let span = tokens[sig[c]].span;
    let after_subquery = || {
        syntax_error(
            "a time-travel clause must follow a table name, and a subquery is not one; put the \
             clause on each table inside the subquery: FROM (SELECT ... FROM t AS OF SCN 5) s"
                .into(),
            span.start.line,
            span.start.column,
            Some(tokens[sig[c]].token.to_string()),
        )
    };
    let not_a_table = || {
        syntax_error(
            "a time-travel clause must follow a table name: FROM t AS OF SCN 5".into(),
            span.start.line,
            span.start.column,
            Some(tokens[sig[c]].token.to_string()),
        )
    };
    let p1 = c.checked_sub(1).ok_or_else(not_a_table)?;
    match tok(p1) {
        Some(Token::RParen) => return Err(after_subquery()),
        Some(t) if word(t).is_some() => {}
        _ => return Err(not_a_table()),
    }
    let Some(p2) = p1.checked_sub(1) else {
        return Ok(c);
    };
    let before = tok(p2).ok_or_else(not_a_table)?;
    if matches!(before, Token::RParen) {
        return Err(after_subquery()); // `(SELECT ...) alias` + clause
    }
    if is_kw(before, Keyword::AS) {
        if matches!(p2.checked_sub(1).and_then(tok), Some(Token::RParen)) {
            return Err(after_subquery()); // `(SELECT ...) AS alias` + clause
        }
        return Ok(p2); // `name AS alias` + clause
    }
    if let Some(w) = word(before) {
        let structural = w.quote_style.is_none()
            && matches!(
                w.keyword,
                Keyword::FROM
                    | Keyword::JOIN
                    | Keyword::UPDATE
                    | Keyword::INTO
                    | Keyword::TABLE
                    | Keyword::CROSS
                    | Keyword::INNER
                    | Keyword::OUTER
                    | Keyword::NATURAL
            );
        if !structural {
            return Ok(p1); // `name alias` + clause
        }
    }
    Ok(c)
}

/// `WITH ... INSERT ...`: SQLite lets common table expressions precede an INSERT, and they
/// are visible to its SELECT (or VALUES). sqlparser nests such an INSERT inside a query; the
/// CTEs move into the INSERT's own source query, ahead of any it declares itself, which is
/// the same scope.
fn hoist_with_into_insert(statement: Statement) -> Statement {
    let Statement::Query(query) = statement else {
        return statement;
    };
    if query.with.is_none()
        || query.order_by.is_some()
        || query.limit_clause.is_some()
        || !matches!(*query.body, SetExpr::Insert(Statement::Insert(_)))
    {
        return Statement::Query(query);
    }
    let query = *query;
    let (Some(outer), SetExpr::Insert(Statement::Insert(mut insert))) = (query.with, *query.body)
    else {
        unreachable!("checked above");
    };
    if let Some(source) = insert.source.as_mut() {
        match source.with.as_mut() {
            None => source.with = Some(outer),
            Some(inner) => {
                inner.recursive |= outer.recursive;
                let own = std::mem::take(&mut inner.cte_tables);
                inner.cte_tables = outer.cte_tables;
                inner.cte_tables.extend(own);
            }
        }
    }
    Statement::Insert(insert)
}

fn rewrite_as_of(tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>> {
    let mut tokens = tokens;
    // Each pass rewrites the first clause not yet rewritten; clauses never nest textually.
    loop {
        let sig = significant_indices(&tokens);
        let mut found = None;
        for p in 0..sig.len() {
            if let Some((mode, len)) = clause_at(&tokens, &sig, p) {
                // `FOR SYSTEM_TIME AS OF helios_as_of(...)` is our own output: skip it.
                let after = sig.get(p + len).map(|&i| &tokens[i].token);
                if after
                    .and_then(word)
                    .is_some_and(|w| w.value.eq_ignore_ascii_case(AS_OF_FUNCTION))
                {
                    continue;
                }
                found = Some((p, mode, len));
                break;
            }
        }
        let Some((c, mode, len)) = found else {
            return Ok(tokens);
        };
        let expr_start = c + len;
        let expr_end = expression_end(&tokens, &sig, expr_start)?;
        let span = tokens[sig[c]].span;
        let insert_at = insertion_point(&tokens, &sig, c)?;
        let mk = |t: Token| TokenWithSpan { token: t, span };
        let kw = |s: &str| mk(Token::make_keyword(s));
        let mut clause = vec![
            mk(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)),
            kw("FOR"),
            mk(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)),
            kw("SYSTEM_TIME"),
            mk(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)),
            kw("AS"),
            mk(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)),
            kw("OF"),
            mk(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)),
            mk(Token::make_word(AS_OF_FUNCTION, None)),
            mk(Token::LParen),
            mk(Token::SingleQuotedString(mode.name().to_string())),
            mk(Token::Comma),
        ];
        let expr_first = sig[expr_start];
        let expr_last = sig[expr_end - 1];
        clause.extend(tokens[expr_first..=expr_last].iter().cloned());
        clause.push(mk(Token::RParen));
        clause.push(mk(Token::Whitespace(
            sqlparser::tokenizer::Whitespace::Space,
        )));
        let clause_first = sig[c];
        let insert_idx = if insert_at == c {
            clause_first
        } else {
            sig[insert_at]
        };
        let mut out = Vec::with_capacity(tokens.len() + 12);
        for (i, t) in tokens.into_iter().enumerate() {
            if i == insert_idx {
                out.extend(clause.iter().cloned());
            }
            if i >= clause_first && i <= expr_last {
                continue;
            }
            out.push(t);
        }
        tokens = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql_of(s: &str) -> String {
        match &parse(s).unwrap()[0].statement {
            Parsed::Sql(st) => st.to_string(),
            Parsed::VacuumHistory => "VACUUM HISTORY".into(),
            Parsed::Vacuum(_) => "VACUUM".into(),
            Parsed::Reindex(_) => "REINDEX".into(),
            Parsed::Analyze(_) => "ANALYZE".into(),
            Parsed::CreateTrigger(_) => "CREATE TRIGGER".into(),
            Parsed::Pragma(p) => format!("PRAGMA {}", p.name),
        }
    }

    #[test]
    fn rewrites_every_form_of_the_clause() {
        assert_eq!(
            sql_of("SELECT * FROM accounts AS OF TIMESTAMP '2024-12-31 23:59:59' ORDER BY id"),
            "SELECT * FROM accounts FOR SYSTEM_TIME AS OF helios_as_of('timestamp', '2024-12-31 23:59:59') ORDER BY id"
        );
        assert_eq!(
            sql_of("SELECT * FROM users AS u AS OF TRANSACTION 75 WHERE u.id = 1"),
            "SELECT * FROM users AS u FOR SYSTEM_TIME AS OF helios_as_of('transaction', 75) WHERE u.id = 1"
        );
        assert_eq!(
            sql_of("SELECT * FROM products c JOIN products AS OF TIMESTAMP '2024-01-01' h ON c.id = h.id"),
            "SELECT * FROM products c JOIN products h FOR SYSTEM_TIME AS OF helios_as_of('timestamp', '2024-01-01') ON c.id = h.id"
        );
        assert_eq!(
            sql_of("SELECT * FROM t x BEFORE TRANSACTION ?"),
            "SELECT * FROM t x FOR SYSTEM_TIME AS OF helios_as_of('before_transaction', ?)"
        );
        assert_eq!(
            sql_of("SELECT * FROM t AS OF TIMESTAMP now() - INTERVAL '1 hour' WHERE a = 1"),
            "SELECT * FROM t FOR SYSTEM_TIME AS OF helios_as_of('timestamp', now() - INTERVAL '1 hour') WHERE a = 1"
        );
        assert_eq!(
            sql_of("SELECT * FROM t FOR SYSTEM_TIME AS OF '2024-01-01'"),
            "SELECT * FROM t FOR SYSTEM_TIME AS OF helios_as_of('timestamp', '2024-01-01')"
        );
        assert_eq!(sql_of("vacuum history"), "VACUUM HISTORY");
        assert_eq!(
            sql_of("SELECT * FROM t AS OF SCN :x WHERE a = @y"),
            "SELECT * FROM t FOR SYSTEM_TIME AS OF helios_as_of('scn', :x) WHERE a = @y"
        );
        assert_eq!(
            sql_of("SELECT * FROM t AS OF SCN :x + 1"),
            "SELECT * FROM t FOR SYSTEM_TIME AS OF helios_as_of('scn', :x + 1)"
        );
    }

    #[test]
    fn a_clause_after_a_subquery_says_what_is_allowed() {
        for sql in [
            "SELECT * FROM (SELECT * FROM t) s AS OF SCN 5",
            "SELECT * FROM (SELECT * FROM t) AS s AS OF SCN 5",
            "SELECT * FROM (SELECT * FROM t) AS OF SCN 5",
        ] {
            let e = parse(sql).unwrap_err().to_string();
            assert!(
                e.contains("put the clause on each table inside the subquery"),
                "{sql}: {e}"
            );
            assert!(!e.contains("SYSTEM_TIME"), "{e}");
        }
    }

    #[test]
    fn errors_carry_positions() {
        let e = parse("SELECT * FORM t").unwrap_err();
        match e {
            Error::Syntax { line, column, .. } => assert_eq!((line, column), (1, 10)),
            other => panic!("{other}"),
        }
        assert!(parse("SELECT * FROM t AS OF TIMESTAMP").is_err());
        assert!(parse("SELECT 1 AS OF SCN 3").is_err());
        let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&deep).is_err());
        let e = parse("SELECT * FROM").unwrap_err();
        assert_eq!(
            e.to_string(),
            "syntax error at line 1, column 14: the statement ends early; expected identifier next"
        );
        for long in [
            format!("SELECT * FROM t WHERE a = 1 '{}'", "x".repeat(100_000)),
            format!("SELECT * FROM t WHERE '{}' 'y'", "x".repeat(100_000)),
        ] {
            let e = parse(&long).map(|_| ()).unwrap_err().to_string();
            assert!(e.len() < 300, "{} bytes: {}", e.len(), &e[..200]);
        }
    }

    #[test]
    fn unsupported_joins_are_named_in_sql() {
        use sqlparser::ast::{JoinConstraint, JoinOperator};
        let e = unsupported_join(&JoinOperator::RightAnti(JoinConstraint::None)).to_string();
        assert_eq!(
            e,
            "not supported: RIGHT ANTI JOIN; use JOIN, LEFT JOIN, RIGHT JOIN, FULL JOIN or CROSS JOIN"
        );
        let e = unsupported_join(&JoinOperator::LeftSemi(JoinConstraint::None)).to_string();
        assert_eq!(
            e,
            "not supported: LEFT SEMI JOIN; use JOIN, LEFT JOIN, RIGHT JOIN, FULL JOIN or CROSS JOIN"
        );
    }

    #[test]
    fn splits_statements_and_counts_params() {
        let v = parse("INSERT INTO t VALUES (?, ?3); SELECT :a, :a, ?;").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].param_count, 3);
        assert_eq!(v[1].param_count, 2);
        assert_eq!(v[1].text, "SELECT :a, :a, ?");
    }

    #[test]
    fn statement_texts_are_cut_at_the_right_bytes_across_lines_and_wide_characters() {
        let sql = "SELECT 'é€';\n  SELECT\n 'ü' ; SELECT 1;\r\nSELECT 'last'";
        let texts: Vec<String> = parse(sql).unwrap().into_iter().map(|s| s.text).collect();
        assert_eq!(
            texts,
            ["SELECT 'é€'", "SELECT\n 'ü'", "SELECT 1", "SELECT 'last'"]
        );
        // Many statements: each text is its own line (the offsets come from the line table).
        let script: String = (0..2000).map(|i| format!("SELECT {i};\n")).collect();
        let v = parse(&script).unwrap();
        assert_eq!(v.len(), 2000);
        assert_eq!(v[1999].text, "SELECT 1999");
    }
}
