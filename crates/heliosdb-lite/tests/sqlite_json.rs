//! SQLite's JSON functions, statement by statement against the bundled SQLite: the text they
//! produce (minified, numbers and escapes as written, key order and duplicates kept), paths,
//! the JSON "subtype" that makes `json_array(json('[1]'))` nest, the aggregates, and the same
//! on rows read `AS OF` a past SCN. Script notation: see `sqlite_dialect.rs`.

#[path = "dialect/harness.rs"]
mod harness;

use harness::{check, errors};

#[test]
fn json_text_and_numbers() {
    check(&[(
        "json()",
        &[
            "SELECT json(' { \"a\" : [1, 2.50, 1e3, -0, 1E+2, 0.1e-2], \"b\": \"x\\u0041\\n\" } ')",
            "SELECT json('{\"a\":1,\"a\":2}'), json(' [ ] '), json('{ }'), json('\"\\/\"')",
            "SELECT json('123456789012345678901234'), json('1e400'), json('-1e400'), json('0.1e1')",
            "SELECT json('1'), json(12), json(1.5), json('true'), json(NULL), json('[1,2] ')",
            "SELECT json('\"a' || char(9) || 'b\"')",
            "SELECT json('[1,2')",
            "SELECT json('')",
            "SELECT json('01')",
            "SELECT json('{\"a\"}')",
            "SELECT json('\"\\u12\"')",
            "SELECT json_array(1, 2.5, 'x', NULL, json('[1]'), '[1]', 1e100, 1.0, 0.1, -0.0)",
            "SELECT json_array(9223372036854775807, 1e15, 1e16, 123456789012345678901234)",
            "SELECT json_array(1.0/3, 1e-7, 123456789.123, 100.0, 2e20, 1.5e300, 0.5e-5)",
            "SELECT json_array(1e999, -1e999), json_quote(1e999), json_array('é'), json_array()",
            "SELECT json_quote('a\"b\\/' || char(1) || char(8) || char(9) || char(10) || \
             char(12) || char(13) || char(31) || char(127) || 'é')",
            "SELECT json_quote(1.5), json_quote(NULL), json_quote(json('[1]')), json_quote('[1]')",
            "SELECT json_object('a', 1, 'b', 'x', 'c', json('{\"d\":null}'), 'e', NULL), \
             json_object(), json_object('a', 1, 'a', 2)",
            "SELECT json_object('a', 1.0), json_object('a\"b', 'c\\d')",
            "SELECT json_valid('{\"a\":1}'), json_valid('{a:1}'), json_valid(NULL), \
             json_valid(''), json_valid('1'), json_valid(12), json_valid(1.5)",
            "SELECT json_valid('\"a' || char(9) || 'b\"'), json_valid('[1,]'), \
             json_valid('  [1]  '), json_valid('[1] x'), json_valid('1.'), json_valid('-01')",
            "SELECT json_valid('\"\\u12\"'), json_valid('\"\\x\"'), json_valid('nul'), \
             json_valid('[-]'), json_valid('1e'), json_valid('{\"a\"}'), json_valid('{\"a\":1}', 1)",
            "SELECT json('{\"a\":1}') = '{\"a\":1}', typeof(json('1'))",
        ],
    )]);
}

#[test]
fn json_paths_and_arrows() {
    check(&[(
        "paths",
        &[
            "SELECT json_extract('{\"a\":{\"b\":[1,2,{\"c\":\"d\"}]}}', '$.a.b[2].c'), \
             json_extract('{\"a\":{\"b\":[1,2,3]}}', '$.a.b'), \
             json_extract('[1,2,3]', '$[#-1]'), json_extract('[1,2,3]', '$[#]')",
            "SELECT json_extract('{\"a\":1,\"b\":\"x\"}', '$.a', '$.b'), \
             json_extract('{\"a\":1}', '$.z'), json_extract('{\"a\":[1,2]}', '$.a[1]', '$.zz')",
            "SELECT json_extract('1e400', '$'), json_extract('123456789012345678901234', '$'), \
             json_extract('-0', '$'), json_extract('-0.0', '$'), typeof(json_extract('-0', '$'))",
            "SELECT json_extract('\"a\\u0041\\ud83d\\ude00\\n\"', '$'), \
             json_extract('{\"\\u0061\":1}', '$.a')",
            "SELECT json_extract('{\"a\":null}', '$.a'), json_extract('{\"a\":true}', '$.a'), \
             json_extract('{\"a\":false}', '$.a'), json_extract('{\"a\":1.50}', '$.a')",
            "SELECT json_extract('{\"\":1}', '$.\"\"'), json_extract('{\"a.b\":1}', '$.\"a.b\"'), \
             json_extract('{\"a[0]\":1}', '$.a[0]'), json_extract('{\"a\":1}', '$.a ')",
            "SELECT json_extract('[1,2,3]', '$[#-4]'), json_extract('[1,2,3]', '$[#-0]'), \
             json_extract('{\"a\":1,\"a\":2}', '$.a'), json_extract('{\"a\":1}', NULL)",
            "SELECT json_extract('{\"a\":\"1\"}', '$.a') = 1, \
             typeof(json_extract('{\"a\":\"1\"}', '$.a'))",
            "SELECT json_extract('{\"a\":1}', 'a')",
            "SELECT json_extract('[1,2,3]', '$[-1]')",
            "SELECT json_extract('{\"a\":1}', '$.')",
            "SELECT json_extract('[1]', '$ [0]')",
            "SELECT json_extract('[1]', '$[ 0]')",
            "SELECT json_extract('[1,2]', '$[+1]')",
            "SELECT json_extract('[1,2', '$')",
            "SELECT '{\"a\":{\"b\":1}}' -> '$.a', '{\"a\":{\"b\":1}}' ->> '$.a', \
             '{\"a\":\"x\"}' -> 'a', '{\"a\":\"x\"}' ->> 'a', '[1,2,3]' -> 1, '[1,2,3]' ->> -1",
            "SELECT '[1,2]' -> '[0]', '{\"a b\":1}' -> 'a b', '{\"a\":{\"b\":2}}' -> 'a.b', \
             '{\"a\":1}' -> '$', '[1,2]' -> '$[1]', '{\"a\":1}' -> 0",
            "SELECT '5' -> '$', 5 -> '$', 5 ->> '$', json('{\"a\":1.50}') -> '$.a', \
             '{\"a\":1}' -> 'a' -> '$', ('{\"a\":[1,2]}' -> 'a') ->> 1",
            "SELECT json('[1,2,3]') ->> '$[#-1]', '[1,2,3]' -> '#-1', NULL -> '$', '[1]' -> NULL",
            "SELECT json_array_length('[1,2,3]'), json_array_length('{\"a\":1}'), \
             json_array_length('{\"a\":[1,2]}', '$.a'), json_array_length('[1,2]', '$.z'), \
             json_array_length('[1,2]', '$[5]'), json_array_length('5'), json_array_length(NULL)",
            "SELECT json_type('1'), json_type('1.5'), json_type('\"x\"'), json_type('null'), \
             json_type('true'), json_type('false'), json_type('[]'), json_type('{}'), \
             json_type('{\"a\":[1]}', '$.a'), json_type('{\"a\":[1]}', '$.b'), json_type(NULL)",
            "SELECT json_type('-5'), json_type('2e3'), json_type('{\"a\":1}', '$.a.b')",
            "SELECT json_type('{\"a\":1}', 'a')",
        ],
    )]);
}

#[test]
fn json_edits() {
    check(&[(
        "edits",
        &[
            "SELECT json_set('{\"a\":1}', '$.a', 2, '$.b', 3), \
             json_insert('{\"a\":1}', '$.a', 2, '$.b', 3), \
             json_replace('{\"a\":1}', '$.a', 2, '$.b', 3), json_remove('[1,2,3]', '$[1]'), \
             json_remove('{\"a\":1,\"b\":2}', '$.a')",
            "SELECT json_set('[1,2]', '$[#]', 9), json_set('{}', '$.a.b', 1), \
             json_set('{\"a\":1}', '$.c', json('[1]')), json_set('{\"a\":1}', '$.c', '[1]')",
            "SELECT json_set('{}', '$.a[0]', 1), json_set('[1]', '$[5]', 2), \
             json_set('[1]', '$[1]', 2), json_insert('[1]', '$[#]', 2), json_set('{\"a\":1}', '$', 5), \
             json_insert('{\"a\":1}', '$', 5), json_replace('[1]', '$[0]', json('{\"x\":1}'))",
            "SELECT json_set('{}', '$.a[3]', 1), json_set('{}', '$.a.b.c', 1), \
             json_set('[]', '$[0].a', 1), json_set('{\"a\":5}', '$.a.b', 1), json_set('{}', '$[0]', 1)",
            "SELECT json_remove('[1,2]', '$'), json_remove('[1,2,3]', '$[#-1]'), \
             json_remove('{\"a\":1}', '$.z'), json_remove('{\"a\":1}'), \
             json_remove('[1,2,3]', '$[0]', '$[0]'), json_remove('{\"a\":1,\"a\":2}', '$.a')",
            "SELECT json_set(NULL, '$.a', 1), json_set('{}', NULL, 1), json_set('{}', '$.a', NULL), \
             json_remove('{\"a\":1}', NULL), json_remove(NULL, '$')",
            "SELECT json_set('{\"a\":1}', '$.a', 'x', '$.a', 'y'), \
             json_insert('{\"a\":[1]}', '$.a[#]', 2, '$.a[#]', 3), json_set('[1,2]', '$[#-1]', 9), \
             json_replace('{\"a\":[1,2]}', '$.a[#]', 5)",
            "SELECT json_set('{\"a\":1}', '$.b', json_array(1, 2)), \
             json_set('{\"a\":1}', '$.b', '{\"x\":1}' -> '$'), \
             json_insert('[1]', '$[#]', json('{\"q\" : 1}'))",
            "SELECT json_set('{\"a\":1}', '$.b')",
            "SELECT json_set('{\"a\":1}', 'b', 1)",
            "SELECT json_patch('{\"a\":1,\"b\":{\"c\":2}}', '{\"b\":{\"c\":null,\"d\":3},\"e\":[1]}'), \
             json_patch('[1]', '{\"a\":1}'), json_patch('{\"a\":1}', '5')",
            "SELECT json_patch('{\"a\":{\"b\":1}}', '{\"a\":{\"c\":null,\"d\":{\"e\":null,\"f\":1}}}'), \
             json_patch('{\"a\":1,\"b\":2}', '{\"a\":null}'), json_patch(NULL, '{}'), \
             json_patch('{}', NULL)",
        ],
    )]);
}

#[test]
fn json_subtype_nests_json_values() {
    check(&[(
        "subtype",
        &[
            "SELECT json_array('[1]' -> '$'), json_array(json_extract('{\"a\":[1]}', '$.a')), \
             json_array(json_extract('{\"a\":\"x\"}', '$.a')), json_array('{\"a\":\"x\"}' ->> '$.a'), \
             json_array(json_array(1)), json_object('a', json_object('b', 2))",
            "SELECT json_array(1, json_extract('{\"a\":[1,2]}', '$.a', '$.a')), \
             json_object('k', json_set('{}', '$.x', 1), 'q', json_quote('s')), \
             json_array(json_patch('{}', '{\"a\":1}'), json_remove('[1,2]', '$[0]'))",
            "SELECT json_set('{}', '$.a', json_extract('{\"x\":{\"y\":1}}', '$.x')), \
             json_set('{}', '$.a', json_extract('{\"x\":\"s\"}', '$.x'))",
            "CREATE TABLE d(id INTEGER PRIMARY KEY, doc TEXT)",
            "INSERT INTO d VALUES (1, '{\"n\":[1,2]}'), (2, '{\"n\":{\"m\":true}}')",
            "SELECT id, json_array(doc), json_array(json(doc)), json_object('v', doc -> '$.n') \
             FROM d ORDER BY id",
            "SELECT json_array(CASE WHEN 1 THEN json('[1]') END), \
             json_array(coalesce(json('[1]'), 1)), json_array(ifnull(json('[1]'), 1)), \
             json_array((SELECT json('[1]')))",
            "SELECT id, json_array(CASE WHEN id = 1 THEN doc -> '$.n' ELSE doc END), \
             json_array(coalesce(doc ->> '$.zz', doc -> '$.n')), \
             json_array(iif(id = 2, json(doc), x'' IS NULL)) FROM d ORDER BY id",
            "SELECT json_array(iif(1, json('[1]'), 2)), json_array(nullif(json('[1]'), 2)), \
             json_array(likely(json('[1]'))), json_array(json('[1]') COLLATE NOCASE)",
            "SELECT json_array(max(json('[1]'))), json_array(min(json('[1]'), json('[2]'))), \
             json_object('m', max(doc -> '$.n')) FROM d",
            "SELECT json_array(x) FROM (SELECT json('[1]') AS x)",
            "WITH c(x) AS (SELECT json('[1]')) SELECT json_array(x) FROM c",
            "SELECT json_array((SELECT j FROM (SELECT json('[1]') j)))",
            "SELECT json_object('n', (SELECT json_group_array(id) FROM d), \
             'm', (SELECT doc FROM d ORDER BY id LIMIT 1))",
            "SELECT json_object('all', json_group_array(doc -> '$.n'), 'ids', json_group_array(id)) \
             FROM d",
        ],
    )]);
}

#[test]
fn json_aggregates() {
    check(&[(
        "aggregates",
        &[
            "CREATE TABLE t(id INTEGER PRIMARY KEY, g TEXT, k TEXT, v)",
            "INSERT INTO t VALUES (1, 'a', 'x', 1), (2, 'a', 'y', NULL), (3, 'b', 'z', 'q'), \
             (4, 'b', NULL, 2.5), (5, 'b', 'w', '[1]')",
            "SELECT json_group_array(v), json_group_object(k, v) FROM t",
            "SELECT g, json_group_array(v), json_group_object(k, v) FROM t GROUP BY g ORDER BY g",
            "SELECT json_group_array(v) FROM t WHERE id > 10",
            "SELECT json_group_object(k, v) FROM t WHERE id > 10",
            "SELECT json_group_array(json_object('id', id, 'v', v)) FROM t",
            "SELECT json_group_array(json(v)) FROM t WHERE id <> 3",
            "SELECT json_group_array(v) FILTER (WHERE id > 1), \
             json_group_object(k, v) FILTER (WHERE v IS NOT NULL) FROM t",
            "SELECT json_group_array(DISTINCT g) FROM t",
            "SELECT json_group_object(id, g) FROM t",
            "SELECT id, json_group_array(id) OVER (ORDER BY id) FROM t ORDER BY id",
            "SELECT id, json_group_object(k, id) OVER (PARTITION BY g ORDER BY id) \
             FROM t ORDER BY id",
            "SELECT json_group_array(v, v) FROM t",
        ],
    )]);
}

#[test]
fn json_on_rows_read_as_of_a_past_point() {
    check(&[(
        "as of",
        &[
            "CREATE TABLE doc(id INTEGER PRIMARY KEY, body TEXT)",
            "INSERT INTO doc VALUES (1, '{\"name\":\"a\",\"tags\":[1,2]}'), \
             (2, '{\"name\":\"b\",\"tags\":[]}')",
            "@mark",
            "@ours UPDATE doc SET body = json_set(body, '$.name', 'changed', '$.tags[#]', 9)",
            "@ours DELETE FROM doc WHERE id = 2",
            "@ours INSERT INTO doc VALUES (3, '{\"name\":\"c\"}')",
            "SELECT id, body ->> 'name', json_array_length(body, '$.tags'), body -> '$.tags' \
             FROM doc ORDER BY id @@ SELECT id, body ->> 'name', \
             json_array_length(body, '$.tags'), body -> '$.tags' FROM doc AS OF SCN {scn} \
             ORDER BY id",
            "SELECT json_group_object(body ->> '$.name', json_extract(body, '$.tags')) FROM doc \
             @@ SELECT json_group_object(body ->> '$.name', json_extract(body, '$.tags')) \
             FROM doc AS OF SCN {scn}",
            "SELECT id FROM doc WHERE json_extract(body, '$.tags[0]') = 1 \
             @@ SELECT id FROM doc AS OF SCN {scn} WHERE json_extract(body, '$.tags[0]') = 1",
        ],
    )]);
}

#[test]
fn json_errors_have_sqlites_messages() {
    for sql in [
        "SELECT json('[1,2')",
        "SELECT json_extract('{\"a\":1}', 'a')",
        "SELECT json_extract('[1]', '$[-1]')",
        "SELECT json_set('{}', '$.b')",
        "SELECT json_object('a')",
        "SELECT json_object(1, 2)",
        "SELECT json_array(x'')",
        "SELECT json_insert('{}', '$.a')",
    ] {
        let (theirs, ours) = errors(sql);
        let theirs = theirs.unwrap_or_else(|| panic!("SQLite accepted {sql}"));
        let ours = ours.unwrap_or_else(|| panic!("HeliosDB accepted {sql}"));
        assert!(
            ours.contains(&theirs),
            "{sql}: sqlite {theirs:?}, ours {ours:?}"
        );
    }
}
