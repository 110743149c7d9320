//! The proxy view (SPEC §9, rule book `PROXY-SEMANTICS.md`): what a proxy programs, one entry per
//! service port of one IP family with the endpoints this node uses, kept incrementally.
//!
//! Pipeline: the input configs deliver to [`feed::FeedSink`]s, which queue their versions on the
//! view's [`feed::ProxyMux`]; its merger thread runs the [`tracker::ProxyTracker`], which
//! recomputes the services that changed ([`service`] rules, [`endpoints`] from slices,
//! [`categorize`]) and publishes through the same broadcaster as every config.

pub mod categorize;
pub mod endpoints;
pub mod feed;
pub mod info;
pub mod notes;
pub mod options;
pub mod service;
pub mod tracker;
pub mod trigger;

use std::sync::Arc;
use std::time::Duration;

use crate::engine::error::CoreError;
use crate::engine::ratelimit::Clock;

use feed::ProxyMux;
use options::{ProxyOptions, Topology};
use tracker::{ProxyInput, ProxyTracker, SERVICES};

/// A proxy view's engine: its mux, with the two input sources created in order.
pub struct ProxyView {
    mux: Arc<ProxyMux>,
}

impl ProxyView {
    /// Start a view named `name` for `node`.
    pub fn new(
        name: &str,
        min_interval: Duration,
        clock: Arc<dyn Clock>,
        opts: ProxyOptions,
        node: Topology,
    ) -> Result<Self, CoreError> {
        let mux = ProxyMux::with_merger(name, min_interval, clock, ProxyTracker::new(opts, node))?;
        mux.source("services")?;
        mux.source("endpoints")?;
        Ok(Self { mux: Arc::new(mux) })
    }

    /// The view's mux (state, handlers, flush, close).
    pub fn mux(&self) -> &Arc<ProxyMux> {
        &self.mux
    }

    /// The node's name or zone changed: every port is categorised again.
    pub fn set_topology(&self, node: Topology) -> Result<(), CoreError> {
        self.mux.send(SERVICES, ProxyInput::Topology(node))
    }
}
