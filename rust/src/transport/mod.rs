//! The list/watch transport: HTTP/1.1 over TCP and rustls, run on one Rust thread per resource.
//! The engine's state machine (`engine::watcher`) says what to do; [`reflector`] does it and
//! feeds the config's sink, without Python in the loop.

pub mod conn;
pub mod http;
pub mod limits;
pub mod record;
pub mod reflector;
pub mod replay;
pub mod tls;
pub mod url;
