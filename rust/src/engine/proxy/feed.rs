//! The view's inputs: a handler registered on each input config that forwards every version it
//! receives (with its exact changes) to the view's merger, without waiting.

use std::marker::PhantomData;
use std::sync::Weak;

use crate::engine::broadcast::{Outcome, Sink};
use crate::engine::model::{EndpointSlice, Endpoints, Service};
use crate::engine::mux::Mux;
use crate::engine::object::Object;
use crate::engine::snapshot::Snapshot;

use super::info::ServicePortInfo;
use super::tracker::{ProxyInput, ProxyTracker, ENDPOINTS, SERVICES};

/// The proxy view's mux.
pub type ProxyMux = Mux<ServicePortInfo, ProxyTracker>;

/// An input kind of the view.
pub trait ProxyFeed: Object + Sized {
    /// The view's source index for this kind.
    const SOURCE: usize;
    /// Whether a config of this kind is the legacy `Endpoints` input.
    const LEGACY: bool = false;
    /// Wrap a delivered version.
    fn input(snapshot: Snapshot<Self>) -> ProxyInput;
}

impl ProxyFeed for Service {
    const SOURCE: usize = SERVICES;
    fn input(snapshot: Snapshot<Self>) -> ProxyInput {
        ProxyInput::Services(snapshot)
    }
}

impl ProxyFeed for EndpointSlice {
    const SOURCE: usize = ENDPOINTS;
    fn input(snapshot: Snapshot<Self>) -> ProxyInput {
        ProxyInput::Slices(snapshot)
    }
}

impl ProxyFeed for Endpoints {
    const SOURCE: usize = ENDPOINTS;
    const LEGACY: bool = true;
    fn input(snapshot: Snapshot<Self>) -> ProxyInput {
        ProxyInput::Endpoints(snapshot)
    }
}

/// The handler a view registers on one input config. It holds the view weakly: a dropped view
/// ends the forwarding thread.
pub struct FeedSink<K> {
    view: Weak<ProxyMux>,
    /// `ProxyConfig(<view name>)`: how the input config's metrics name this registration.
    name: String,
    kind: PhantomData<fn() -> K>,
}

impl<K> FeedSink<K> {
    /// Forward to `view`.
    pub fn new(view: Weak<ProxyMux>) -> Self {
        let name = view.upgrade().map_or_else(
            || "ProxyConfig".to_owned(),
            |v| format!("ProxyConfig({})", v.name()),
        );
        Self {
            view,
            name,
            kind: PhantomData,
        }
    }
}

impl<K: ProxyFeed> Sink<K> for FeedSink<K> {
    fn deliver(&self, snapshot: Snapshot<K>) -> Outcome {
        match self.view.upgrade() {
            Some(view) if view.send(K::SOURCE, K::input(snapshot)).is_ok() => Outcome::Ok,
            _ => Outcome::Stop,
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn synced(&self) -> Outcome {
        match self.view.upgrade() {
            Some(view) if view.mark_synced(K::SOURCE).is_ok() => Outcome::Ok,
            _ => Outcome::Stop,
        }
    }
}
