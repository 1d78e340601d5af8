//! PRAGMA syntax. SQLite's grammar, not sqlparser's (which refuses `PRAGMA x = ON`): the
//! statement is recognised and taken apart at the token level; `sql::pragma` runs it.

use crate::error::{Error, Result};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;

/// A parsed `PRAGMA [schema.]name [= value | (value)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pragma {
    /// The pragma's name, lower case.
    pub name: String,
    /// Its argument as written (a name, keyword, number or the text of a string), if any.
    pub arg: Option<String>,
}

/// True if the statement's first significant token is PRAGMA.
pub fn starts_pragma(significant: &[&Token]) -> bool {
    matches!(significant.first(), Some(Token::Word(w)) if w.keyword == Keyword::PRAGMA && w.quote_style.is_none())
}

/// Parses a PRAGMA from its significant tokens. SQLite's own grammar, not sqlparser's: the
/// value may be any name or keyword (`ON`, `OFF`, `wal`, a table name), a signed number or a
/// string, after `=` or in parentheses.
pub fn parse(significant: &[&Token]) -> Result<Pragma> {
    let bad = |what: &str| Error::invalid(format!("malformed PRAGMA: {what}"));
    let name_of = |t: &Token| match t {
        Token::Word(w) => Some(w.value.clone()),
        _ => None,
    };
    let mut rest = significant.get(1..).unwrap_or(&[]);
    let mut name = rest
        .first()
        .and_then(|t| name_of(t))
        .ok_or_else(|| bad("expected a pragma name after PRAGMA"))?;
    rest = &rest[1..];
    // `schema.name`: only the main database exists, so the schema is checked and dropped.
    if rest.first() == Some(&&Token::Period) {
        if !name.eq_ignore_ascii_case("main") {
            return Err(Error::invalid(format!("unknown database {name}")));
        }
        name = rest
            .get(1)
            .and_then(|t| name_of(t))
            .ok_or_else(|| bad("expected a pragma name after the schema"))?;
        rest = &rest[2..];
    }
    let value = |ts: &[&Token]| -> Result<String> {
        match ts {
            [Token::Word(w)] => Ok(w.value.clone()),
            [Token::Number(n, _)] => Ok(n.clone()),
            [Token::Minus, Token::Number(n, _)] => Ok(format!("-{n}")),
            [Token::Plus, Token::Number(n, _)] => Ok(n.clone()),
            // A hexadecimal number (`0x10002`, a mask), which the tokenizer splits in two.
            [Token::Number(z, _), Token::Word(w)]
                if z == "0" && w.value.starts_with(['x', 'X']) && w.quote_style.is_none() =>
            {
                Ok(format!("0{}", w.value))
            }
            [Token::HexStringLiteral(h)] => Ok(format!("0x{h}")),
            [Token::SingleQuotedString(s)] | [Token::DoubleQuotedString(s)] => Ok(s.clone()),
            _ => Err(bad("the value must be a name, a number or a string")),
        }
    };
    let arg = match rest {
        [] => None,
        [Token::Eq, v @ ..] => Some(value(v)?),
        [Token::LParen, v @ .., Token::RParen] => Some(value(v)?),
        _ => return Err(bad("expected = value or (value) after the pragma name")),
    };
    Ok(Pragma {
        name: name.to_ascii_lowercase(),
        arg,
    })
}

/// Reads a boolean pragma value as SQLite does: 1/0, ON/OFF, TRUE/FALSE, YES/NO.
pub fn boolean(arg: &str) -> Result<bool> {
    match arg.to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(true),
        "0" | "off" | "false" | "no" => Ok(false),
        _ => Err(Error::invalid(format!(
            "PRAGMA value {arg} is not a boolean (use ON or OFF, 1 or 0)"
        ))),
    }
}
