//! Loading a pretty-printed dump (one value per line) takes time linear in its size.

use std::time::Instant;

/// A multi-row INSERT with one value per line, indented, `rows` rows long.
fn pretty_insert(rows: usize) -> String {
    let mut s = String::from("CREATE TABLE t(a INTEGER, b TEXT);\nINSERT INTO t (a, b)\nVALUES\n");
    for i in 0..rows {
        let sep = if i + 1 == rows { ";" } else { "," };
        s.push_str(&format!(
            "    (\n        {i},\n        'row {i}'\n    ){sep}\n"
        ));
    }
    s
}

fn load_seconds(script: &str) -> f64 {
    let c = heliosdb_lite::Connection::open_in_memory().unwrap();
    let t = Instant::now();
    c.execute_batch(script).unwrap();
    t.elapsed().as_secs_f64()
}

#[test]
fn pretty_printed_inserts_load_in_linear_time() {
    let small = pretty_insert(5_000);
    let large = pretty_insert(20_000);
    let (ts, tl) = (load_seconds(&small), load_seconds(&large));
    eprintln!("5,000 rows: {ts:.3} s, 20,000 rows: {tl:.3} s");
    // Four times the rows: about four times the time; quadratic growth would be sixteen.
    assert!(tl < 10.0 * ts.max(0.02), "{ts:.3} s then {tl:.3} s");
}
