//! What a proxy view is computed for: its IP family, its node, and which objects it serves.

use crate::engine::model::{IpFamily, StrMap};

/// Label that hands a Service (and its slices) to an alternative proxy.
pub const SERVICE_PROXY_NAME_LABEL: &str = "service.kubernetes.io/service-proxy-name";
/// Label the `EndpointSlice` controller puts on the slices of a headless Service.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// The node this view is for (kube-proxy passes only the zone label on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// The node's name (`""`: no endpoint is local).
    pub node_name: String,
    /// `topology.kubernetes.io/zone` of the node (`""`: never matches a hint).
    pub zone: String,
}

/// Fixed settings of one view.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// The family whose ports and endpoints the view holds.
    pub family: IpFamily,
    /// `None`: skip objects labelled with a service proxy name; `Some(n)`: keep only those labelled `n`.
    pub service_proxy_name: Option<String>,
    /// kube-proxy's `PreferSameTrafficDistribution` gate: read node hints.
    pub prefer_same_node: bool,
    /// Creation time of the view, seconds since the epoch: older trigger times are not reported.
    pub start: f64,
}

impl ProxyOptions {
    /// Whether an object with `labels` reaches this proxy: kube-proxy's Service and slice
    /// informers both select `!service-proxy-name,!headless` (or the proxy's own name).
    pub fn serves(&self, labels: &StrMap) -> bool {
        if labels.get(HEADLESS_LABEL).is_some() {
            return false;
        }
        let claimed = labels.get(SERVICE_PROXY_NAME_LABEL);
        match &self.service_proxy_name {
            None => claimed.is_none(),
            Some(name) => claimed == Some(name.as_str()),
        }
    }
}
