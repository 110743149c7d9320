//! One connection to the API server: TCP (through an HTTP proxy's tunnel when configured),
//! then TLS; and the [`Canceller`] that lets another thread end a read blocked on it.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::url::BaseUrl;
use crate::engine::watcher::WatchError;

/// A plain or TLS byte stream.
pub enum Stream {
    /// `http://`.
    Plain(TcpStream),
    /// `https://`.
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    /// An answer from memory, writes discarded (tests and fuzzing of the HTTP framing).
    Memory(Box<dyn Read + Send>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
            Self::Memory(r) => r.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
            Self::Memory(_) => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
            Self::Memory(_) => Ok(()),
        }
    }
}

/// Ends a read blocked on the current connection from another thread (`stop()`): shutting a
/// socket down wakes its reader at once, on plain and TLS connections alike.
#[derive(Default)]
pub struct Canceller {
    cancelled: AtomicBool,
    socket: Mutex<Option<TcpStream>>,
}

impl Canceller {
    /// A canceller with nothing to cancel yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Watch `socket` from now on; fails at once if already cancelled.
    fn arm(&self, socket: &TcpStream) -> Result<(), WatchError> {
        let clone = socket
            .try_clone()
            .map_err(|e| net("cannot watch the socket", &e))?;
        let mut slot = self.socket.lock();
        // Checked under the lock that `cancel` takes: either it sees this socket, or this sees it.
        if self.is_cancelled() {
            let _ = clone.shutdown(Shutdown::Both);
            return Err(WatchError::Stopped);
        }
        *slot = Some(clone);
        Ok(())
    }

    /// Forget the socket (its connection is done).
    pub fn disarm(&self) {
        self.socket.lock().take();
    }

    /// Cancel: the current and any later connection fail with [`WatchError::Stopped`].
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        if let Some(socket) = self.socket.lock().take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// Where and how to connect.
pub struct Dialer {
    /// The API server.
    pub server: BaseUrl,
    /// An `http://` proxy, tunnelled through with `CONNECT` for `https://` servers.
    pub proxy: Option<BaseUrl>,
    /// Extra headers for the proxy (`Proxy-Authorization`).
    pub proxy_headers: Vec<(String, String)>,
    /// TLS for `https://` servers.
    pub tls: Option<Arc<ClientConfig>>,
    /// The name the server's certificate must carry.
    pub server_name: ServerName<'static>,
    /// Bound on connecting and on the TLS handshake.
    pub connect_timeout: Duration,
    /// Bound on every read after that (stall detection).
    pub read_timeout: Duration,
}

impl Dialer {
    /// Whether requests go to a plain-HTTP proxy in absolute form (no tunnel).
    pub fn via_plain_proxy(&self) -> bool {
        self.proxy.is_some() && !self.server.tls
    }

    /// Open a connection, registered with `cancel` for as long as it lives.
    pub fn connect(&self, cancel: &Canceller) -> Result<Stream, WatchError> {
        let target = self.proxy.as_ref().unwrap_or(&self.server);
        let tcp = self.tcp(&target.authority(), cancel)?;
        if self.proxy.is_some() && self.server.tls {
            self.tunnel(&tcp)?;
        }
        let Some(tls) = &self.tls else {
            tcp.set_read_timeout(Some(self.read_timeout))
                .map_err(|e| net("socket", &e))?;
            return Ok(Stream::Plain(tcp));
        };
        let mut conn = ClientConnection::new(tls.clone(), self.server_name.clone())
            .map_err(|e| WatchError::Config(format!("TLS: {e}")))?;
        let mut sock = tcp;
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut sock) {
                return Err(tls_error(&e, cancel));
            }
        }
        sock.set_read_timeout(Some(self.read_timeout))
            .map_err(|e| net("socket", &e))?;
        Ok(Stream::Tls(Box::new(StreamOwned::new(conn, sock))))
    }

    fn tcp(&self, authority: &str, cancel: &Canceller) -> Result<TcpStream, WatchError> {
        let addrs = authority
            .to_socket_addrs()
            .map_err(|e| WatchError::Network(format!("cannot resolve {authority}: {e}")))?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(tcp) => {
                    // Small requests and prompt event delivery: no Nagle delay.
                    let _ = tcp.set_nodelay(true);
                    tcp.set_read_timeout(Some(self.connect_timeout))
                        .and_then(|()| tcp.set_write_timeout(Some(self.connect_timeout)))
                        .map_err(|e| net("socket", &e))?;
                    cancel.arm(&tcp)?;
                    return Ok(tcp);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) => net(&format!("cannot connect to {authority}"), &e),
            None => WatchError::Network(format!("{authority} resolves to no address")),
        })
    }

    /// `CONNECT host:port` through the proxy; the answer must be 2xx.
    fn tunnel(&self, tcp: &TcpStream) -> Result<(), WatchError> {
        let authority = self.server.authority();
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        for (name, value) in &self.proxy_headers {
            let _ = write!(request, "{name}: {value}\r\n");
        }
        request.push_str("\r\n");
        (&*tcp)
            .write_all(request.as_bytes())
            .map_err(|e| net("proxy", &e))?;
        // Read the answer byte-wise up to its blank line: nothing of the tunnel is consumed.
        // At most `PROXY_HEAD` bytes of it, however long its lines.
        let mut reader = BufReader::with_capacity(1, tcp).take(PROXY_HEAD);
        let mut status = String::new();
        reader
            .read_line(&mut status)
            .map_err(|e| net("proxy", &e))?;
        loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).map_err(|e| net("proxy", &e))?;
            if n == 0 || line == "\r\n" || line == "\n" {
                break;
            }
        }
        if reader.limit() == 0 {
            return Err(WatchError::Network(format!(
                "proxy: the answer to CONNECT {authority} is larger than {PROXY_HEAD} bytes"
            )));
        }
        let code = status.split_whitespace().nth(1).unwrap_or("");
        if code.starts_with('2') {
            Ok(())
        } else {
            Err(WatchError::Network(format!(
                "proxy refused the tunnel to {authority}: {}",
                status.trim()
            )))
        }
    }
}

/// Largest answer of a proxy to `CONNECT` read.
const PROXY_HEAD: u64 = 64 * 1024;

fn net(what: &str, e: &io::Error) -> WatchError {
    if matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        return WatchError::Network(format!("{what}: timed out"));
    }
    WatchError::Network(format!("{what}: {e}"))
}

/// A failed handshake: an untrusted certificate is its own class (operators must act).
fn tls_error(e: &io::Error, cancel: &Canceller) -> WatchError {
    if cancel.is_cancelled() {
        return WatchError::Stopped;
    }
    if let Some(rustls::Error::InvalidCertificate(why)) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return WatchError::Untrusted(format!("invalid peer certificate: {why:?}"));
    }
    net("TLS handshake", e)
}
