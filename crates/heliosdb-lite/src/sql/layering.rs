//! Keeps the SQL layer's modules in layers: a module may import only from layers below its
//! own, so the imports have no cycles. The list is the design (see `sql/mod.rs`); a new
//! module must be placed in it, and an import that breaks it fails here with its file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, bottom first.
const LAYERS: &[&[&str]] = &[
    &["value"],
    &["parser"],
    &["codec", "collation"],
    &["catalog", "functions"],
    &["pragma_info"],
    &["plan", "stats", "sqlite_master", "strict"],
    &["eval"],
    &["execution"],
    &["planner", "explain"],
    &["engine"],
    &["dml", "cursor"],
    &["ddl", "pragma"],
    &["pragma_tuning"],
    &["session"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level `sql` modules a file names through `crate::sql::x` or `super::x` paths
/// that lead to `sql` (test modules, which may reach anywhere, are left out).
fn imports(sql_dir: &Path, file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).expect("readable source file");
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let rel = file.strip_prefix(sql_dir).expect("under sql/");
    // How deep the file's module sits below `sql` (`x.rs` and `x/mod.rs`: 1).
    let mut depth = rel.components().count();
    if rel.file_name().is_some_and(|n| n == "mod.rs") {
        depth -= 1;
    }
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::sql::") {
        found.insert(ident(&code[i + "crate::sql::".len()..]));
    }
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(at) = code[i..].find("super::") {
        let start = i + at;
        let preceded =
            start > 0 && (bytes[start - 1] == b':' || bytes[start - 1].is_ascii_alphanumeric());
        let mut ups = 0;
        let mut p = start;
        while code[p..].starts_with("super::") {
            ups += 1;
            p += "super::".len();
        }
        if !preceded && ups == depth {
            found.insert(ident(&code[p..]));
        }
        i = p;
    }
    found
}

#[test]
fn sql_modules_import_only_from_lower_layers() {
    let sql_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sql");
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&sql_dir).expect("src/sql") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        if name == "mod" || name == "layering" {
            continue;
        }
        let Some(own) = layer_of(&name) else {
            problems.push(format!(
                "module sql::{name} is in no layer of sql/layering.rs"
            ));
            continue;
        };
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path.clone());
        }
        for file in files {
            for dep in imports(&sql_dir, &file) {
                if dep == name {
                    continue;
                }
                match layer_of(&dep) {
                    Some(l) if l < own => {}
                    Some(_) => problems.push(format!(
                        "{} (layer of {name}) imports sql::{dep}, which is not below it",
                        file.display()
                    )),
                    None => {}
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
