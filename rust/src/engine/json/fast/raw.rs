//! The raw structs the fast path reads an event line into, borrowing from the input, before the
//! model is built from them (`fast/service.rs`).
//!
//! The reading is done by [`Scan`], which refuses whatever it cannot read exactly as the walk's
//! parser does; every `None` here means "use the walk". On top of it:
//! - `null` reads as absent; a repeated known field is refused unless the earlier value was
//!   `null`, which agrees with the walk's "last one wins".
//! - Integers are read only without sign, fraction or exponent; `80.0` (which the walk accepts)
//!   falls back.

use std::borrow::Cow;
use std::marker::PhantomData;

use super::scan::Scan;
use crate::engine::model::StrMap;

/// A value read by the fast path; `None` means "not exactly readable here, use the walk".
pub(super) trait Read<'a>: Sized {
    fn read(scan: &mut Scan<'a>) -> Option<Self>;

    /// Read into `slot` (objects override this to be built in place: they are large, and moving
    /// them out of every nested call costs more than reading them).
    fn read_into(scan: &mut Scan<'a>, slot: &mut Option<Self>) -> Option<()> {
        *slot = Some(Self::read(scan)?);
        Some(())
    }

    /// Make `slot` read as absent before the next event. Lists and the structs holding them
    /// override this to keep their allocations instead: for them, empty and absent read alike.
    fn reset(slot: &mut Option<Self>) {
        *slot = None;
    }
}

/// A string borrowed from the input unless it has escapes.
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'a> Read<'a> for Text<'a> {
    fn read(scan: &mut Scan<'a>) -> Option<Self> {
        scan.string().map(Text)
    }
}

impl Read<'_> for i64 {
    fn read(scan: &mut Scan<'_>) -> Option<Self> {
        scan.int()
    }
}

impl Read<'_> for bool {
    fn read(scan: &mut Scan<'_>) -> Option<Self> {
        scan.boolean()
    }
}

/// An array whose elements are all `T` (a `null` element is refused, as a typed read would).
impl<'a, T: Read<'a>> Read<'a> for Vec<T> {
    fn read(scan: &mut Scan<'a>) -> Option<Self> {
        let mut slot = None;
        Self::read_into(scan, &mut slot)?;
        slot
    }

    fn read_into(scan: &mut Scan<'a>, slot: &mut Option<Self>) -> Option<()> {
        let items = slot.get_or_insert_with(Vec::new);
        items.clear();
        scan.array(|scan| {
            items.push(T::read(scan)?);
            Some(())
        })
    }

    fn reset(slot: &mut Option<Self>) {
        if let Some(items) = slot {
            items.clear();
        }
    }
}

/// An integer or a string (`targetPort`).
pub(super) enum IntOrText<'a> {
    Int(i64),
    Text(Cow<'a, str>),
}

impl<'a> Read<'a> for IntOrText<'a> {
    fn read(scan: &mut Scan<'a>) -> Option<Self> {
        if scan.peek()? == b'"' {
            scan.string().map(IntOrText::Text)
        } else {
            scan.int().map(IntOrText::Int)
        }
    }
}

/// A string map's members in document order (values may be `null`).
pub(super) struct Pairs<'a>(Vec<(Text<'a>, Option<Text<'a>>)>);

impl<'a> Read<'a> for Pairs<'a> {
    fn read(scan: &mut Scan<'a>) -> Option<Self> {
        let mut members = Vec::new();
        scan.object(|scan, key| {
            let value = if scan.null() {
                None
            } else {
                Some(Text(scan.string()?))
            };
            members.push((Text(key), value));
            Some(())
        })?;
        Some(Pairs(members))
    }
}

/// A string map, assembled as it is read when the members come sorted by key with string values
/// (as the API server writes them); others are read again as [`Pairs`] and built as the walk
/// builds them.
impl Read<'_> for StrMap {
    fn read(scan: &mut Scan<'_>) -> Option<Self> {
        let start = *scan;
        let sorted = StrMap::build_sorted(|entries| {
            scan.object(|scan, key| entries.push(&key, &scan.string()?))
        });
        if sorted.is_some() {
            return sorted;
        }
        *scan = start;
        Pairs::read(scan).map(|Pairs(members)| StrMap::from_members(&members))
    }
}

/// A struct of optional fields read from a JSON object: listed keys are typed (`null` = absent),
/// others are skipped, a repeated non-null listed key is refused.
///
/// `kept` structs stay allocated between events (only their fields are reset), so the lists in
/// them keep their capacity; that makes an absent `kept` struct read as an empty one, so only
/// structs whose absence means nothing more than empty may be `kept`.
macro_rules! raw_struct {
    (kept $name:ident<$a:lifetime> { $($field:ident : $ty:ty = $key:literal,)* }) => {
        raw_struct!(@define $name<$a> { $($field: $ty = $key,)* });

        impl<$a> Read<$a> for $name<$a> {
            raw_struct!(@read $name<$a> { $($field: $ty = $key,)* });

            fn reset(slot: &mut Option<Self>) {
                if let Some(out) = slot {
                    $(<$ty as Read<$a>>::reset(&mut out.$field);)*
                }
            }
        }
    };
    ($name:ident<$a:lifetime> { $($field:ident : $ty:ty = $key:literal,)* }) => {
        raw_struct!(@define $name<$a> { $($field: $ty = $key,)* });

        impl<$a> Read<$a> for $name<$a> {
            raw_struct!(@read $name<$a> { $($field: $ty = $key,)* });
        }
    };
    (@define $name:ident<$a:lifetime> { $($field:ident : $ty:ty = $key:literal,)* }) => {
        #[derive(Default)]
        pub(super) struct $name<$a> {
            $(pub(super) $field: Option<$ty>,)*
            _input: PhantomData<&$a str>,
        }
    };
    (@read $name:ident<$a:lifetime> { $($field:ident : $ty:ty = $key:literal,)* }) => {
        fn read(scan: &mut Scan<$a>) -> Option<Self> {
            let mut slot = None;
            Self::read_into(scan, &mut slot)?;
            slot
        }

        fn read_into(scan: &mut Scan<$a>, slot: &mut Option<Self>) -> Option<()> {
            let out = slot.get_or_insert_with(Self::default);
            $(<$ty as Read<$a>>::reset(&mut out.$field);)*
            // Which listed keys this object had (non-null), to refuse repeats.
            $(let mut $field = false;)*
            scan.object(|scan, key| {
                match &*key {
                    $($key => {
                        if $field {
                            return None;
                        }
                        if !scan.null() {
                            $field = true;
                            <$ty as Read<$a>>::read_into(scan, &mut out.$field)?;
                        }
                    })*
                    _ => scan.skip()?,
                }
                Some(())
            })
        }
    };
}

raw_struct!(kept RawEvent<'a> {
    kind: Text<'a> = "type",
    object: RawService<'a> = "object",
});

raw_struct!(kept RawService<'a> {
    kind: Text<'a> = "kind",
    metadata: RawMeta<'a> = "metadata",
    spec: RawSpec<'a> = "spec",
    status: RawStatus<'a> = "status",
});

raw_struct!(kept RawMeta<'a> {
    name: Text<'a> = "name",
    namespace: Text<'a> = "namespace",
    uid: Text<'a> = "uid",
    resource_version: Text<'a> = "resourceVersion",
    labels: StrMap = "labels",
    annotations: StrMap = "annotations",
});

raw_struct!(kept RawSpec<'a> {
    service_type: Text<'a> = "type",
    cluster_ip: Text<'a> = "clusterIP",
    cluster_ips: Vec<Text<'a>> = "clusterIPs",
    ip_families: Vec<Text<'a>> = "ipFamilies",
    ip_family_policy: Text<'a> = "ipFamilyPolicy",
    ports: Vec<RawPort<'a>> = "ports",
    selector: StrMap = "selector",
    session_affinity: Text<'a> = "sessionAffinity",
    session_affinity_config: RawAffinity<'a> = "sessionAffinityConfig",
    external_ips: Vec<Text<'a>> = "externalIPs",
    load_balancer_source_ranges: Vec<Text<'a>> = "loadBalancerSourceRanges",
    external_name: Text<'a> = "externalName",
    external_traffic_policy: Text<'a> = "externalTrafficPolicy",
    internal_traffic_policy: Text<'a> = "internalTrafficPolicy",
    health_check_node_port: i64 = "healthCheckNodePort",
    publish_not_ready_addresses: bool = "publishNotReadyAddresses",
});

raw_struct!(RawPort<'a> {
    name: Text<'a> = "name",
    protocol: Text<'a> = "protocol",
    port: i64 = "port",
    target_port: IntOrText<'a> = "targetPort",
    node_port: i64 = "nodePort",
    app_protocol: Text<'a> = "appProtocol",
});

raw_struct!(RawAffinity<'a> {
    client_ip: RawClientIp<'a> = "clientIP",
});

raw_struct!(RawClientIp<'a> {
    timeout_seconds: i64 = "timeoutSeconds",
});

raw_struct!(kept RawStatus<'a> {
    load_balancer: RawLoadBalancer<'a> = "loadBalancer",
});

raw_struct!(kept RawLoadBalancer<'a> {
    ingress: Vec<RawIngress<'a>> = "ingress",
});

raw_struct!(RawIngress<'a> {
    ip: Text<'a> = "ip",
    ip_mode: Text<'a> = "ipMode",
});
