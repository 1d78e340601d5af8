//! The three targets of the load test and one client session on each: HeliosDB-Lite over
//! the PostgreSQL protocol, PostgreSQL itself, and HeliosDB-Lite over HTTP. Every target
//! gets the same table and the same three requests; only the SQL that expresses "the row
//! as it was at point P" differs, because PostgreSQL has no `AS OF`.
//!
//! PostgreSQL keeps its history the way its users build it by hand: a trigger stamps each
//! row with a version from a sequence and copies the old row into `accounts_history` on
//! UPDATE, and a point read is a UNION of the current row (if old enough) and the history
//! row whose interval holds the point. That is the work `AS OF` saves, so PostgreSQL's
//! writes pay for the trigger as ours pay for keeping versions.

use postgres::{Client, NoTls, Statement};

use super::http::HttpClient;
use super::Res;

/// Which server and protocol a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `heliosdb-lite serve`, PostgreSQL protocol (prepared statements).
    HeliosPg,
    /// PostgreSQL, prepared statements, history kept by a trigger.
    Postgres,
    /// `heliosdb-lite serve`, `POST /v1/query`.
    HeliosHttp,
}

/// Where to reach a target.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name in the report.
    pub name: &'static str,
    /// Server and protocol.
    pub kind: Kind,
    /// A `postgresql://` URL, or `host:port` for HTTP.
    pub address: String,
    /// Bearer token for HTTP.
    pub token: String,
}

/// One request of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Point select of the current row.
    Current(i64),
    /// Point select of the row as of the setup's point.
    AsOf(i64),
    /// Autocommit UPDATE of one row.
    Write(i64),
}

const CURRENT_SQL: &str = "SELECT balance FROM accounts WHERE id = $1";
const WRITE_SQL: &str = "UPDATE accounts SET balance = balance + 1 WHERE id = $1";
const HELIOS_AS_OF_SQL: &str = "SELECT balance FROM accounts AS OF SCN $2 WHERE id = $1";
const POSTGRES_AS_OF_SQL: &str = "SELECT balance FROM accounts WHERE id = $1 AND ver <= $2 \
     UNION ALL SELECT balance FROM accounts_history \
     WHERE id = $1 AND ver <= $2 AND valid_to > $2";

const HELIOS_SCHEMA: &str = "DROP TABLE IF EXISTS accounts;
     CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);";
const POSTGRES_SCHEMA: &str = "DROP TABLE IF EXISTS accounts, accounts_history;
     DROP SEQUENCE IF EXISTS accounts_ver;
     CREATE SEQUENCE accounts_ver;
     CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL, ver bigint NOT NULL);
     CREATE TABLE accounts_history (id bigint NOT NULL, balance bigint NOT NULL,
                                    ver bigint NOT NULL, valid_to bigint NOT NULL);
     CREATE INDEX accounts_history_id ON accounts_history (id, valid_to);
     CREATE OR REPLACE FUNCTION accounts_version() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         NEW.ver := nextval('accounts_ver');
         IF TG_OP = 'UPDATE' THEN
             INSERT INTO accounts_history VALUES (OLD.id, OLD.balance, OLD.ver, NEW.ver);
         END IF;
         RETURN NEW;
     END $$;
     CREATE TRIGGER accounts_version BEFORE INSERT OR UPDATE ON accounts
         FOR EACH ROW EXECUTE FUNCTION accounts_version();";

/// A connection to a target with the workload's statements prepared.
pub enum Session {
    /// PostgreSQL protocol (either server).
    Pg {
        /// The connection.
        client: Box<Client>,
        /// The current point select, prepared once.
        current: Statement,
        /// The AS OF point select.
        as_of: Statement,
        /// The UPDATE.
        write: Statement,
    },
    /// HTTP (HeliosDB-Lite only).
    Http {
        /// The connection.
        client: HttpClient,
        /// The AS OF point's text, bound as the second parameter.
        as_of_sql: &'static str,
    },
}

impl Target {
    /// Creates the table with `rows` rows, takes the point AS OF reads use, then updates
    /// every row once so that those reads look past a newer version. Returns the point.
    pub fn setup(&self, rows: usize) -> Res<i64> {
        let values: Vec<String> = (1..=rows).map(|id| format!("({id}, 0)")).collect();
        let insert = format!(
            "INSERT INTO accounts (id, balance) VALUES {}",
            values.join(",")
        );
        let touch_all = "UPDATE accounts SET balance = balance + 1";
        match self.kind {
            Kind::HeliosPg | Kind::Postgres => {
                let mut c = Client::connect(&self.address, NoTls)?;
                let (schema, point_sql) = if self.kind == Kind::Postgres {
                    (POSTGRES_SCHEMA, "SELECT last_value FROM accounts_ver")
                } else {
                    (HELIOS_SCHEMA, "SELECT current_scn()")
                };
                c.batch_execute(schema)?;
                c.batch_execute(&format!("BEGIN; {insert}; COMMIT"))?;
                // As text: a computed column is described as text over the extended
                // protocol by HeliosDB-Lite.
                let point = c
                    .simple_query(point_sql)?
                    .into_iter()
                    .find_map(|m| match m {
                        postgres::SimpleQueryMessage::Row(r) => {
                            r.get(0).and_then(|v| v.parse::<i64>().ok())
                        }
                        _ => None,
                    })
                    .ok_or("no point in the answer")?;
                c.batch_execute(touch_all)?;
                if self.kind == Kind::Postgres {
                    // One statement each: several in one message are one transaction.
                    c.batch_execute("VACUUM ANALYZE accounts")?;
                    c.batch_execute("VACUUM ANALYZE accounts_history")?;
                }
                Ok(point)
            }
            Kind::HeliosHttp => {
                let mut c = HttpClient::connect(&self.address, &self.token)?;
                c.query(HELIOS_SCHEMA, &[])?;
                c.query(&format!("BEGIN; {insert}; COMMIT"), &[])?;
                let answer = c.query("SELECT current_scn()", &[])?;
                let point = answer["rows"][0][0]
                    .as_i64()
                    .ok_or_else(|| format!("no SCN in {answer}"))?;
                c.query(touch_all, &[])?;
                Ok(point)
            }
        }
    }

    /// Opens a session with the statements prepared.
    pub fn session(&self) -> Res<Session> {
        match self.kind {
            Kind::HeliosPg | Kind::Postgres => {
                let mut client = Client::connect(&self.address, NoTls)?;
                let as_of_sql = if self.kind == Kind::Postgres {
                    POSTGRES_AS_OF_SQL
                } else {
                    HELIOS_AS_OF_SQL
                };
                let current = client.prepare(CURRENT_SQL)?;
                let as_of = client.prepare(as_of_sql)?;
                let write = client.prepare(WRITE_SQL)?;
                Ok(Session::Pg {
                    client: Box::new(client),
                    current,
                    as_of,
                    write,
                })
            }
            Kind::HeliosHttp => Ok(Session::Http {
                client: HttpClient::connect(&self.address, &self.token)?,
                as_of_sql: HELIOS_AS_OF_SQL,
            }),
        }
    }
}

impl Session {
    /// Runs one request; a select must find its row, a write must change one.
    pub fn run(&mut self, op: Op, point: i64) -> Res<()> {
        let found = match self {
            Session::Pg {
                client,
                current,
                as_of,
                write,
            } => match op {
                Op::Current(id) => client.query(&*current, &[&id])?.len() as u64,
                Op::AsOf(id) => client.query(&*as_of, &[&id, &point])?.len() as u64,
                Op::Write(id) => client.execute(&*write, &[&id])?,
            },
            Session::Http { client, as_of_sql } => {
                let answer = match op {
                    Op::Current(id) => client.query(CURRENT_SQL, &[id])?,
                    Op::AsOf(id) => client.query(as_of_sql, &[id, point])?,
                    Op::Write(id) => client.query(WRITE_SQL, &[id])?,
                };
                match op {
                    Op::Write(_) => {
                        // The command tag, as over the PostgreSQL protocol: "UPDATE 1".
                        let tag = answer["command"].as_str().unwrap_or_default();
                        tag.rsplit(' ')
                            .next()
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(0)
                    }
                    _ => answer["rows"].as_array().map_or(0, |r| r.len() as u64),
                }
            }
        };
        if found != 1 {
            return Err(format!("{op:?} touched {found} rows, expected 1").into());
        }
        Ok(())
    }
}
