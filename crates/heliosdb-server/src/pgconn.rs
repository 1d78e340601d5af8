//! One PostgreSQL client connection's message loop, with its output held back until the
//! client waits for it.
//!
//! `pgwire` flushes the socket after each reply of the extended protocol (ParseComplete,
//! BindComplete, RowDescription, CommandComplete), so a prepared statement's
//! Parse/Bind/Describe/Execute/Sync round cost five writes and five wake-ups of the client
//! where PostgreSQL sends one. Here the replies to Parse, Bind, Describe, Execute and
//! Close stay in a buffer ([`Corked`]) until a Sync, a Flush or any other message, exactly
//! when PostgreSQL flushes. The loop itself is `pgwire`'s dispatch
//! ([`pgwire::tokio::server::process_message`]) around that buffer, and TLS is negotiated
//! first when the server has a certificate.
//!
//! Each connection has a thread of its own, as each PostgreSQL connection has a process,
//! with a single-threaded tokio runtime for the socket: a statement runs right there, in
//! the handler, so a request is read, executed and answered by one thread. Running it on a
//! blocking pool instead costs two thread hand-offs (wake the pool's thread, then wake the
//! runtime's worker with the result) on every request, which on a busy 2-core machine cost
//! more than the statement itself. Nothing else shares the thread, so a long statement
//! delays only its own client; the engine's statement timeout and interrupt flag stop it
//! without the runtime's help.

use futures::{SinkExt, StreamExt};
use pgwire::api::{ClientInfo, ErrorHandler, PgWireConnectionState, PgWireServerHandlers};
use pgwire::messages::PgWireFrontendMessage;
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use pgwire::tokio::TlsAcceptor;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::codec::{Framed, FramedParts};

/// How long a client may take to authenticate (PostgreSQL's `authentication_timeout` is a
/// minute too).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Past this many held bytes the buffer is written anyway: a large result streams out
/// instead of piling up in memory.
const HOLD_LIMIT: usize = 64 * 1024;

/// A stream whose writes are held in memory while `hold` is set; a flush then writes
/// nothing. Clearing `hold` and flushing sends everything in one write.
pub struct Corked<S> {
    inner: S,
    held: Vec<u8>,
    /// Replies are being held (the current message is part of an extended-protocol
    /// batch).
    pub hold: bool,
}

impl<S: AsyncWrite + Unpin> Corked<S> {
    /// Writes out what is held; pending until all of it is written.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.held.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.held))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.held.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Corked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Corked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.held.len() >= HOLD_LIMIT {
            ready!(this.poll_drain(cx))?;
        }
        if this.hold || !this.held.is_empty() {
            // Held, or behind what is held: one buffer, so the Sync's ReadyForQuery goes
            // out in the same write as the replies before it.
            this.held.extend_from_slice(buf);
            if !this.hold {
                // Pending is fine: the bytes are ours now, and a flush finishes the write.
                if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                    return Poll::Ready(Err(e));
                }
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.hold {
            return Poll::Ready(Ok(()));
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// True for the extended-protocol messages whose replies PostgreSQL holds until a Sync
/// or Flush.
fn held_reply(message: &PgWireFrontendMessage) -> bool {
    matches!(
        message,
        PgWireFrontendMessage::Parse(_)
            | PgWireFrontendMessage::Bind(_)
            | PgWireFrontendMessage::Describe(_)
            | PgWireFrontendMessage::Execute(_)
            | PgWireFrontendMessage::Close(_)
    )
}

/// Serves one client on the calling thread (a thread of its own) until it leaves or
/// `close` turns true: see [`serve_connection`].
pub fn serve_on_own_thread<H: PgWireServerHandlers>(
    socket: std::net::TcpStream,
    tls: Option<TlsAcceptor>,
    handlers: H,
    close: watch::Receiver<bool>,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        socket.set_nonblocking(true)?;
        let socket = TcpStream::from_std(socket)?;
        serve_connection(socket, tls, handlers, close).await
    })
}

/// Serves one client until it leaves or `close` turns true (shutdown): TLS negotiation
/// (when `tls` is given), startup within [`STARTUP_TIMEOUT`], then each message through
/// `pgwire`'s handlers.
pub async fn serve_connection<H: PgWireServerHandlers>(
    socket: TcpStream,
    tls: Option<TlsAcceptor>,
    handlers: H,
    mut close: watch::Receiver<bool>,
) -> io::Result<()> {
    let startup_deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
    let negotiated =
        match tokio::time::timeout_at(startup_deadline, negotiate_tls(socket, tls)).await {
            Ok(r) => r?,
            Err(_) => return Ok(()),
        };
    // `None`: a direct TLS handshake to a server without a certificate.
    let Some(framed) = negotiated else {
        return Ok(());
    };
    let old = framed.into_parts();
    let mut parts = FramedParts::new(
        Corked {
            inner: old.io,
            held: Vec::new(),
            hold: false,
        },
        old.codec,
    );
    parts.read_buf = old.read_buf;
    parts.write_buf = old.write_buf;
    let mut socket = Framed::from_parts(parts);

    let startup = handlers.startup_handler();
    let simple = handlers.simple_query_handler();
    let extended = handlers.extended_query_handler();
    let copy = handlers.copy_handler();
    let cancel = handlers.cancel_handler();
    let errors = handlers.error_handler();
    loop {
        let starting = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        let read = async {
            if starting {
                // `None`: the startup took too long.
                tokio::time::timeout_at(startup_deadline, socket.next())
                    .await
                    .ok()
            } else {
                Some(socket.next().await)
            }
        };
        // The socket first: `close` is only looked at while the client is quiet.
        let next = tokio::select! {
            biased;
            m = read => m,
            _ = close.wait_for(|c| *c) => break,
        };
        let Some(next) = next else { break };
        let Some(Ok(message)) = next else { break };
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let in_extended_batch = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        let is_cancel = matches!(message, PgWireFrontendMessage::CancelRequest(_));
        let hold = held_reply(&message);
        socket.get_mut().hold = hold;
        let outcome = process_message(
            message,
            &mut socket,
            startup.clone(),
            simple.clone(),
            extended.clone(),
            copy.clone(),
            cancel.clone(),
        )
        .await;
        if let Err(mut e) = outcome {
            errors.on_error(&socket, &mut e);
            let fatal = e.is_fatal();
            if fatal {
                // The error is the last thing the client hears: send it now.
                socket.get_mut().hold = false;
            }
            process_error(&mut socket, e, in_extended_batch).await?;
            if fatal {
                break;
            }
        }
        if is_cancel {
            break;
        }
        if !hold {
            socket.get_mut().hold = false;
            socket.flush().await?;
        }
    }
    socket.get_mut().hold = false;
    socket.flush().await
}
