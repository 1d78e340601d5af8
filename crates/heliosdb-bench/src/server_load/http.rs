//! A minimal HTTP/1.1 client for `POST /v1/query`: one keep-alive connection, a bearer
//! token, bodies framed by `Content-Length`. The load test needs nothing more, and a small
//! blocking client keeps its own cost out of the measured latency.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use super::Res;

/// One keep-alive connection to the server's HTTP port.
pub struct HttpClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
    token: String,
}

impl HttpClient {
    /// Connects to `host:port` (no scheme) and authenticates each request with `token`
    /// (the password of the user `heliosdb`).
    pub fn connect(host_port: &str, token: &str) -> Res<Self> {
        let stream = TcpStream::connect(host_port)?;
        stream.set_nodelay(true)?;
        Ok(HttpClient {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            host: host_port.to_string(),
            token: token.to_string(),
        })
    }

    /// Sends `{"sql": sql, "params": params}` and returns the decoded answer; a status
    /// other than 200 is an error carrying the body.
    pub fn query(&mut self, sql: &str, params: &[i64]) -> Res<serde_json::Value> {
        let body = serde_json::json!({ "sql": sql, "params": params }).to_string();
        let request = format!(
            "POST /v1/query HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            self.host,
            self.token,
            body.len(),
            body
        );
        self.writer.write_all(request.as_bytes())?;
        let (status, answer) = self.read_response()?;
        if status != 200 {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&answer)).into());
        }
        Ok(serde_json::from_slice(&answer)?)
    }

    fn read_response(&mut self) -> Res<(u16, Vec<u8>)> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err("the server closed the connection".into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP status line: {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err("the server closed the connection in the headers".into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = Some(value.trim().parse::<usize>()?);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(format!("unsupported {header}").into());
                }
            }
        }
        let length = length.ok_or("a response without Content-Length")?;
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, body))
    }
}
