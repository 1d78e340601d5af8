//! A window frame's `EXCLUDE NO OTHERS | CURRENT ROW | GROUP | TIES`, which sqlparser does
//! not read. Before parsing, the clause is taken out of the token stream and written into
//! the window's ORDER BY as a last term, `helios_frame_exclude('<mode>')`, which sqlparser
//! reads as any expression; the planner takes it back out (see `planner/window.rs`). The
//! term goes before the frame's units keyword (`ROWS`, `RANGE`, `GROUPS`), after the
//! window's own ORDER BY terms or as its only one. Inserted tokens carry the position of
//! `EXCLUDE`, so errors still point into the caller's text.

use super::{word, TokenWithSpan};
use sqlparser::tokenizer::{Token, Whitespace};

/// Name of the marker function carrying a frame exclusion through sqlparser.
pub const FRAME_EXCLUDE_FUNCTION: &str = "helios_frame_exclude";

/// Rewrites every `EXCLUDE ...` clause that ends a window frame. A clause in any other place
/// (or with another mode) is left as written, for sqlparser to refuse.
pub(super) fn rewrite_frame_exclusions(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    // Cheap test first: almost no statement has the word.
    if !tokens.iter().any(|t| is_word(&t.token, "exclude")) {
        return tokens;
    }
    // Each pass rewrites the first clause; the rewritten ones no longer have the word.
    loop {
        let sig: Vec<usize> = (0..tokens.len())
            .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
            .collect();
        let Some((at, mode, len, units, has_order)) = (0..sig.len()).find_map(|p| {
            let (mode, len) = clause_at(&tokens, &sig, p)?;
            let (units, has_order) = frame_of(&tokens, &sig, p)?;
            Some((p, mode, len, units, has_order))
        }) else {
            return tokens;
        };
        let span = tokens[sig[at]].span;
        let mk = |t: Token| TokenWithSpan { token: t, span };
        let space = || mk(Token::Whitespace(Whitespace::Space));
        let mut term = Vec::with_capacity(10);
        if has_order {
            term.push(mk(Token::Comma));
        } else {
            term.extend([
                mk(Token::make_keyword("ORDER")),
                space(),
                mk(Token::make_keyword("BY")),
            ]);
        }
        term.extend([
            space(),
            mk(Token::make_word(FRAME_EXCLUDE_FUNCTION, None)),
            mk(Token::LParen),
            mk(Token::SingleQuotedString(mode.to_string())),
            mk(Token::RParen),
            space(),
        ]);
        let (first, last) = (sig[at], sig[at + len - 1]);
        let mut out = Vec::with_capacity(tokens.len() + term.len());
        for (i, t) in tokens.into_iter().enumerate() {
            if i == sig[units] {
                out.extend(term.iter().cloned());
            }
            if (first..=last).contains(&i) {
                continue;
            }
            out.push(t);
        }
        tokens = out;
    }
}

fn is_word(t: &Token, text: &str) -> bool {
    word(t).is_some_and(|w| w.quote_style.is_none() && w.value.eq_ignore_ascii_case(text))
}

/// The clause starting at significant token `p`: its mode and length in significant tokens.
fn clause_at(tokens: &[TokenWithSpan], sig: &[usize], p: usize) -> Option<(&'static str, usize)> {
    let at = |k: usize, text: &str| {
        sig.get(p + k)
            .is_some_and(|&i| is_word(&tokens[i].token, text))
    };
    if !at(0, "exclude") {
        return None;
    }
    let clause = if at(1, "no") && at(2, "others") {
        ("no others", 3)
    } else if at(1, "current") && at(2, "row") {
        ("current row", 3)
    } else if at(1, "group") {
        ("group", 2)
    } else if at(1, "ties") {
        ("ties", 2)
    } else {
        return None;
    };
    // A second clause would follow the frame once this one is gone: leave both.
    (!at(clause.1, "exclude")).then_some(clause)
}

/// For `EXCLUDE` at significant token `p`: the frame's units keyword (as a significant index)
/// and whether the window has its own ORDER BY. `None` unless the clause directly follows a
/// frame (`... ROW`, `... PRECEDING`, `... FOLLOWING`) inside a window's parentheses.
fn frame_of(tokens: &[TokenWithSpan], sig: &[usize], p: usize) -> Option<(usize, bool)> {
    let before = &tokens[sig[p.checked_sub(1)?]].token;
    if !["row", "preceding", "following"]
        .iter()
        .any(|w| is_word(before, w))
    {
        return None;
    }
    // Back to the window's opening parenthesis, at the frame's nesting depth.
    let (mut depth, mut units, mut has_order) = (0usize, None, false);
    for q in (0..p).rev() {
        match &tokens[sig[q]].token {
            Token::RParen => depth += 1,
            Token::LParen if depth == 0 => return units.map(|u| (u, has_order)),
            Token::LParen => depth -= 1,
            t if depth == 0 => {
                if units.is_none() && ["rows", "range", "groups"].iter().any(|w| is_word(t, w)) {
                    units = Some(q);
                } else if units.is_some() && is_word(t, "order") {
                    has_order = true;
                }
            }
            _ => {}
        }
    }
    None
}
