//! The table-valued functions `json_each` and `json_tree`, statement by statement against
//! the bundled SQLite: every column (including `id`, SQLite's JSONB byte offset, and the
//! hidden `json` / `root`), root paths, joins with tables whose rows supply the argument
//! (`FROM t, json_each(t.doc)`), and the same on rows read `AS OF` a past SCN. Script
//! notation: see `sqlite_dialect.rs`.

#[path = "dialect/harness.rs"]
mod harness;

use harness::{check, errors};

const ALL: &str = "key, value, type, atom, id, parent, fullkey, path";

#[test]
fn json_each_columns() {
    let docs = [
        r#"[1, 2.50, "x", null, true, false, [3, 4], {"a": 5}]"#,
        r#"{"a": 1, "b c": [1, 2], "": 0, "1x": "y", "d": {"e": null}, "a": 2}"#,
        r#""just text""#,
        "42",
        "[]",
        "{}",
        r#"{"esc\"aped": "a\u0041\n", "k": "é"}"#,
    ];
    let mut script: Vec<String> = Vec::new();
    for d in docs {
        let d = d.replace('\'', "''");
        script.push(format!("SELECT {ALL}, json, root FROM json_each('{d}')"));
        script.push(format!("SELECT {ALL}, json, root FROM json_tree('{d}')"));
    }
    let long = format!(
        "[\"{}\", 1, {{\"k\": [{}]}}]",
        "x".repeat(300),
        "7,".repeat(100) + "7"
    );
    script.push(format!("SELECT {ALL} FROM json_each('{long}')"));
    script.push(format!("SELECT {ALL} FROM json_tree('{long}')"));
    let lines: Vec<&str> = script.iter().map(String::as_str).collect();
    check(&[("columns", &lines)]);
}

#[test]
fn json_each_root_paths() {
    let doc = r#"{"a": {"b": [10, 20, {"c": 30}], "d": 1}, "x y": [1], "z": 5}"#;
    let mut script: Vec<String> = Vec::new();
    for root in [
        "$",
        "$.a",
        "$.a.b",
        "$.a.b[1]",
        "$.a.b[2]",
        "$.a.b[2].c",
        "$.a.d",
        "$.\"x y\"",
        "$.\"x y\"[0]",
        "$.z",
        "$.a.b[#-1]",
        "$.nope",
        "$.a.b[9]",
        "$[0]",
    ] {
        script.push(format!(
            "SELECT {ALL}, root FROM json_each('{doc}', '{root}')"
        ));
        script.push(format!(
            "SELECT {ALL}, root FROM json_tree('{doc}', '{root}')"
        ));
    }
    script.push(format!("SELECT count(*) FROM json_each('{doc}', NULL)"));
    script.push("SELECT count(*) FROM json_each(NULL)".to_string());
    script.push("SELECT count(*) FROM json_tree(NULL, '$')".to_string());
    script.push("SELECT * FROM json_each('[1,2]') AS j".to_string());
    script.push("SELECT j.* FROM json_each('[1,2]') AS j".to_string());
    script.push("SELECT j.key, j.json FROM json_each('[1,2]') j WHERE j.value > 1".to_string());
    script.push("SELECT json_group_array(value) FROM json_each('[3,1,2]')".to_string());
    // `value` of an array or object carries no JSON subtype here (README, "SQL dialect"):
    // json() around it nests it as SQLite nests the bare column.
    script.push(
        "SELECT json_array(json(value)), json_array(atom) FROM json_each('[[1],{\"a\":2},3]')"
            .to_string(),
    );
    script.push("SELECT value FROM json_each('[1,2,3]') ORDER BY value DESC".to_string());
    script.push("SELECT sum(value) FROM json_each(json_array(1, 2, 3))".to_string());
    script.push("SELECT key FROM json_each('{\"a\":1}', '$.a')".to_string());
    let lines: Vec<&str> = script.iter().map(String::as_str).collect();
    check(&[("root paths", &lines)]);
}

#[test]
fn json_each_joined_with_tables() {
    check(&[(
        "joins",
        &[
            "CREATE TABLE doc(id INTEGER PRIMARY KEY, body TEXT)",
            "INSERT INTO doc VALUES (1, '{\"name\":\"a\",\"tags\":[\"x\",\"y\"]}'), \
             (2, '{\"name\":\"b\",\"tags\":[]}'), (3, NULL), (4, '{\"name\":\"d\",\"tags\":[\"y\"]}')",
            "CREATE TABLE tag(name TEXT PRIMARY KEY, weight INT)",
            "INSERT INTO tag VALUES ('x', 10), ('y', 20)",
            "SELECT doc.id, j.key, j.value FROM doc, json_each(doc.body, '$.tags') AS j \
             ORDER BY doc.id, j.key",
            "SELECT doc.id, j.value FROM json_each(doc.body, '$.tags') AS j, doc \
             ORDER BY doc.id, j.key",
            "SELECT doc.id, j.value FROM doc JOIN json_each(doc.body, '$.tags') AS j \
             ON j.value = 'y' ORDER BY doc.id",
            "SELECT doc.id, count(j.value) FROM doc LEFT JOIN json_each(doc.body, '$.tags') AS j \
             GROUP BY doc.id ORDER BY doc.id",
            "SELECT doc.id, sum(tag.weight) FROM doc, json_each(doc.body, '$.tags') AS j \
             JOIN tag ON tag.name = j.value GROUP BY doc.id ORDER BY doc.id",
            "SELECT doc.id, tag.weight FROM tag, doc, json_each(doc.body, '$.tags') AS j \
             WHERE tag.name = j.value AND doc.id < 4 ORDER BY doc.id, tag.weight",
            "SELECT id, (SELECT count(*) FROM json_tree(body)) FROM doc ORDER BY id",
            "SELECT id FROM doc WHERE EXISTS (SELECT 1 FROM json_each(body, '$.tags') \
             WHERE value = 'x') ORDER BY id",
            "SELECT d.id, t.fullkey, t.type FROM doc AS d, json_tree(d.body) AS t \
             WHERE t.atom IS NOT NULL ORDER BY d.id, t.id",
            "SELECT a.value, b.value FROM json_each('[1,2]') a, json_each('[10,20]') b \
             ORDER BY 1, 2",
            "SELECT a.value, b.value FROM json_each('[[1,2],[3]]') a, json_each(a.value) b \
             ORDER BY 1, 2",
        ],
    )]);
}

#[test]
fn json_each_on_rows_read_as_of_a_past_point() {
    check(&[(
        "as of",
        &[
            "CREATE TABLE doc(id INTEGER PRIMARY KEY, body TEXT)",
            "INSERT INTO doc VALUES (1, '{\"tags\":[1,2]}'), (2, '{\"tags\":[3]}')",
            "@mark",
            "@ours UPDATE doc SET body = json_set(body, '$.tags[#]', 9)",
            "@ours DELETE FROM doc WHERE id = 2",
            "SELECT doc.id, j.key, j.value, j.id FROM doc, json_each(doc.body, '$.tags') j \
             ORDER BY 1, 2 @@ SELECT doc.id, j.key, j.value, j.id \
             FROM doc AS OF SCN {scn}, json_each(doc.body, '$.tags') j ORDER BY 1, 2",
            "SELECT d.id, t.fullkey, t.value FROM doc d, json_tree(d.body) t ORDER BY 1, t.id \
             @@ SELECT d.id, t.fullkey, t.value FROM doc AS OF SCN {scn} d, json_tree(d.body) t \
             ORDER BY 1, t.id",
        ],
    )]);
}

/// SQLite declares the columns of `json_each` / `json_tree` without a type, so they have BLOB
/// affinity: compared with a TEXT column, the JSON integer 7 stays an integer and does not
/// equal '7' (a numeric column still converts '7'), in every position a column can be read:
/// directly, through a derived table, a CTE, a view, in a join's ON, in WHERE and in IN. Only
/// an expression (`+value`) has no affinity and takes the TEXT side's. The differential
/// fuzzer's seeds 20261213 and 20261214 found the derived-table form.
#[test]
fn json_each_columns_have_blob_affinity() {
    let queries = [
        "SELECT count(*) FROM TBL, json_each(t.doc) j WHERE t.d = j.value",
        "SELECT count(*) FROM TBL, json_each(t.doc) j WHERE j.value = t.d",
        "SELECT count(*) FROM TBL, json_each(t.doc) j WHERE t.n = j.value",
        "SELECT count(*) FROM TBL, json_each(t.doc) j WHERE t.u = j.value",
        "SELECT count(*) FROM TBL, json_each(t.doc) j WHERE t.d = +j.value",
        "SELECT count(*) FROM TBL, json_each(t.doc) j WHERE t.d = j.key",
        "SELECT count(*) FROM TBL, (SELECT value AS v FROM json_each('[7, \"7\"]')) s \
         WHERE t.d = s.v",
        "SELECT count(*) FROM TBL, (SELECT value AS v FROM json_each('[7, \"7\"]')) s \
         WHERE t.n = s.v",
        "SELECT count(*) FROM TBL, (SELECT +value AS v FROM json_each('[7]')) s \
         WHERE t.d = s.v",
        "SELECT count(*) FROM TBL, (SELECT * FROM (SELECT value AS v \
         FROM json_tree('{\"a\": 7}'))) s WHERE s.v = t.d",
        "WITH c AS (SELECT value AS v FROM json_each('[7]')) \
         SELECT count(*) FROM TBL, c WHERE t.d = c.v",
        "SELECT count(*) FROM TBL, v WHERE t.d = v.v",
        "SELECT count(*) FROM TBL JOIN json_each('[7]') j ON t.d = j.value",
        "SELECT count(*) FROM TBL LEFT JOIN json_each('[7]') j ON t.d = j.value \
         WHERE j.key IS NOT NULL",
        "SELECT count(*) FROM json_each('[7]') j FULL JOIN TBL ON t.d = j.value \
         WHERE j.key IS NOT NULL AND t.d IS NOT NULL",
        "SELECT count(*) FROM TBL WHERE t.d IN (SELECT value FROM json_each('[7]'))",
        "SELECT count(*) FROM TBL WHERE t.n IN (SELECT value FROM json_each('[\"7\"]'))",
        "SELECT count(*) FROM json_each('[7]') j WHERE j.value IN (SELECT d FROM TBL)",
        "SELECT count(*) FROM json_each('[7]') j WHERE j.value IN ('7')",
        "SELECT count(*) FROM json_each('[\"7\"]') j WHERE j.value = 7",
        "SELECT (SELECT value FROM json_each('[7]')) = t.d FROM TBL",
    ];
    let mut script: Vec<String> = vec![
        "CREATE TABLE t(d TEXT, n INTEGER, u, doc TEXT)".into(),
        "INSERT INTO t VALUES ('7', 7, '7', '[7, \"7\"]')".into(),
        "CREATE VIEW v AS SELECT value AS v FROM json_each('[7]')".into(),
    ];
    script.extend(queries.iter().map(|q| q.replace("TBL", "t")));
    // The same on the rows as they were before a change that SQLite never sees.
    script.push("@mark".into());
    script.push("@ours UPDATE t SET d = 'x', n = 0, u = 'x', doc = '[]'".into());
    script.extend(queries.iter().map(|q| {
        format!(
            "{} @@ {}",
            q.replace("TBL", "t"),
            q.replace("TBL", "t AS OF SCN {scn}")
        )
    }));
    let lines: Vec<&str> = script.iter().map(String::as_str).collect();
    check(&[("json_each affinity", &lines)]);
}

#[test]
fn json_each_errors_have_sqlites_messages() {
    for sql in [
        "SELECT * FROM json_each('[1,2')",
        "SELECT * FROM json_each('[1]', 'a')",
        "SELECT * FROM json_tree('[1]', '$[')",
        "SELECT * FROM json_each('[1]', '$', 3)",
        "SELECT * FROM no_such_function(1)",
    ] {
        let (theirs, ours) = errors(sql);
        let theirs = theirs.expect("SQLite refuses it");
        let ours = ours.expect("we refuse it");
        assert!(
            ours.contains(&theirs) || theirs.contains(&ours),
            "{sql}\n    sqlite:   {theirs}\n    heliosdb: {ours}"
        );
    }
}
