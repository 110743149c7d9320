//! Differential test of JSON ingest: every parser entry point gives exactly the result (object
//! or error with key, path and message) recorded in `json_equivalence.golden`, for the fixtures,
//! hand-written edge cases and deterministic mutations of them (wrong types, missing fields,
//! bad ports, duplicate keys, escaped strings, deep nesting, huge numbers, broken syntax).
//!
//! The borrowed-document parser was checked against a golden file written by the earlier
//! `serde_json::Value`-based parser; now any change of accepted inputs, defaults or messages
//! shows here. After an intended change, regenerate it with
//! `JSON_EQUIVALENCE_BLESS=1 cargo test --no-default-features --test json_equivalence`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use _core::engine::json::watch::{
    parse_list_page, parse_watch_events, parse_watch_events_split, parse_watch_events_walk,
};
use _core::engine::json::{parse_batch, parse_json, parse_value_batch, Kind, Scratch};
use _core::engine::model::{EndpointSlice, Endpoints, Interner, Service};
use serde_json::Value;

const MUTANTS_PER_SEED: u64 = 60;

/// Deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

/// Seed inputs: (name, bytes), sorted by name.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let dirs = [
        // A fixed input set: the fuzz corpus grows with every fuzzing run, so it is replayed by
        // rust/fuzz and tests/test_fuzz.py instead of being pinned here.
        ("fixtures", repo().join("tests/fixtures")),
        ("examples", repo().join("python/kubeproxy_config/examples")),
    ];
    for (tag, dir) in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let is_yaml = path
                .extension()
                .is_some_and(|e| e == "yaml" || e == "md" || e == "py");
            if is_yaml || !path.is_file() {
                continue;
            }
            let name = format!("{tag}/{}", path.file_name().unwrap().to_string_lossy());
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
    out.extend(handmade());
    out.sort();
    out
}

/// Hand-written edge cases.
fn handmade() -> Vec<(String, Vec<u8>)> {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let deep_obj = |n: usize| {
        format!(
            "{{\"metadata\":{{\"name\":\"a\"}},\"spec\":{}1{}}}",
            "{\"x\":".repeat(n),
            "}".repeat(n)
        )
    };
    let cases: Vec<(&str, String)> = vec![
        ("dup_name", r#"{"metadata":{"name":"a","name":"b"},"spec":{"ports":[{"port":80,"port":81}]}}"#.into()),
        ("dup_kind", r#"{"kind":"Endpoints","kind":"Service","metadata":{"name":"a"}}"#.into()),
        ("dup_null", r#"{"metadata":{"name":"a"},"spec":{"type":"NodePort","type":null}}"#.into()),
        ("dup_labels", r#"{"metadata":{"name":"a","labels":{"b":"1","a":"2","b":"3","c":4,"a":5}}}"#.into()),
        ("bad_labels_order", r#"{"metadata":{"name":"a","labels":{"z":1,"a":2}}}"#.into()),
        ("null_label", r#"{"metadata":{"name":"a","labels":{"z":null,"a":"x"}}}"#.into()),
        ("escaped", r#"{"metadata":{"name":"\u0061b","namespace":"n\u0073","labels":{"k\"":"v\n"}},"spec":{"ports":[{"name":"h\u0074tp","port":80}]}}"#.into()),
        ("escaped_bad", r#"{"metadata":{"name":"a\u00e9"}}"#.into()),
        ("lone_surrogate", r#"{"metadata":{"name":"\ud800"}}"#.into()),
        ("huge_u64", r#"{"metadata":{"name":"a"},"spec":{"ports":[{"port":18446744073709551615}]}}"#.into()),
        ("huge_neg", r#"{"metadata":{"name":"a"},"spec":{"ports":[{"port":-9223372036854775809}]}}"#.into()),
        ("huge_float", r#"{"metadata":{"name":"a"},"spec":{"ports":[{"port":1e400}]}}"#.into()),
        ("float_port", r#"{"metadata":{"name":"a"},"spec":{"ports":[{"port":80.0,"targetPort":8080.0}]}}"#.into()),
        ("frac_port", r#"{"metadata":{"name":"a"},"spec":{"ports":[{"port":80.5}]}}"#.into()),
        ("big_float_port", r#"{"metadata":{"name":"a"},"spec":{"ports":[{"port":1e16}]}}"#.into()),
        ("neg_zero", r#"{"metadata":{"name":"a"},"spec":{"ports":[{"port":-0,"nodePort":-0.0}]}}"#.into()),
        ("exp_port", r#"{"metadata":{"name":"a"},"spec":{"ports":[{"port":8e1}]}}"#.into()),
        ("i64_max", r#"{"metadata":{"name":"a"},"spec":{"ports":[{"port":9223372036854775807}]}}"#.into()),
        ("u64_over_i64", r#"{"metadata":{"name":"a"},"spec":{"ports":[{"port":9223372036854775808}]}}"#.into()),
        ("deep_127", deep(127)),
        ("deep_128", deep(128)),
        ("deep_129", deep(129)),
        ("deep_obj_126", deep_obj(126)),
        ("deep_obj_127", deep_obj(127)),
        ("deep_obj_200", deep_obj(200)),
        ("trailing", r#"{"metadata":{"name":"a"}} x"#.into()),
        ("trailing_ws", "{\"metadata\":{\"name\":\"a\"}} \n\t".into()),
        ("empty", String::new()),
        ("bom", "\u{feff}{}".into()),
        ("scalar", "42".into()),
        ("null", "null".into()),
        ("list_null_items", r#"{"kind":"ServiceList","items":null}"#.into()),
        ("list_bad_items", r#"{"kind":"ServiceList","items":{}}"#.into()),
        ("list_kind_num", r#"{"kind":1,"items":[]}"#.into()),
        ("error_event", "{\"type\":\"ERROR\",\"object\":{\"code\":410,\"x\":[1.5,-2,18446744073709551615,1e300,\"\\u00e9\",null,true,{}]}}\n".into()),
        ("watch_mixed", "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"5\"}}}\n\n  \n{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\",\"namespace\":\"\"}}}\n{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":7}}}\n".into()),
        ("watch_type_num", "{\"type\":1,\"object\":{}}".into()),
        ("watch_no_obj", "{\"type\":\"ADDED\",\"object\":[]}".into()),
        ("invalid_utf8", "{\"metadata\":{\"name\":\"a\u{0}\"}}".into()),
    ];
    let mut out: Vec<(String, Vec<u8>)> = cases
        .into_iter()
        .map(|(n, s)| (format!("handmade/{n}"), s.into_bytes()))
        .collect();
    out.push((
        "handmade/invalid_utf8_bytes".into(),
        b"{\"metadata\":{\"name\":\"a\xff\"}}".to_vec(),
    ));
    out
}

/// Replacement values for structure-aware mutation.
fn odd_values() -> Vec<Value> {
    [
        "null",
        "true",
        "false",
        "0",
        "-1",
        "1",
        "65535",
        "65536",
        "80",
        "80.0",
        "80.5",
        "1e300",
        "18446744073709551615",
        "-9223372036854775808",
        "\"\"",
        "\"x\"",
        "\"None\"",
        "\"10.0.0.1\"",
        "\"fd00::1\"",
        "\"TCP\"",
        "\"http\"",
        "\"IPv4\"",
        "\"ClientIP\"",
        "\"NodePort\"",
        "\"ExternalName\"",
        "\"Local\"",
        "[]",
        "{}",
        "[1]",
        "[\"a\",\"a\"]",
        "{\"a\":\"b\"}",
        "\"A_B\"",
        "\"é\"",
        "\"a.b.c\"",
        "\"ServiceList\"",
        "\"Service\"",
    ]
    .iter()
    .map(|s| serde_json::from_str(s).unwrap())
    .collect()
}

/// All nodes of a value, as JSON pointers.
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_owned());
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, &format!("{at}/{i}"), out);
            }
        }
        Value::Object(m) => {
            for (k, item) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(item, &format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"\\",
    b"\\u0041",
    b"\\ud800",
    b"null",
    b"0",
    b"-",
    b"1e999",
    b".5",
    b" ",
    b"\n",
    b"\"name\":\"dup\",",
    b"\xff",
];

/// One mutant of `seed`.
fn mutate(seed: &[u8], rng: &mut Rng, odd: &[Value]) -> Vec<u8> {
    let parsed: Option<Value> = serde_json::from_slice(seed).ok();
    if let (0 | 1, Some(mut v)) = (rng.below(4), parsed) {
        let mut ptrs = Vec::new();
        pointers(&v, "", &mut ptrs);
        let ptr = ptrs[rng.below(ptrs.len())].clone();
        let op = rng.below(4);
        if let Some(target) = v.pointer_mut(&ptr) {
            match (op, &mut *target) {
                (0, Value::Object(m)) if !m.is_empty() => {
                    let key = m.keys().nth(rng.below(m.len())).unwrap().clone();
                    m.remove(&key);
                }
                (1, Value::Array(a)) if !a.is_empty() => {
                    let i = rng.below(a.len());
                    let dup = a[i].clone();
                    a.push(dup);
                }
                _ => *target = odd[rng.below(odd.len())].clone(),
            }
        }
        let text = serde_json::to_string(&v).unwrap();
        if rng.below(3) == 0 {
            // A duplicate key: the same object's first key again, with an odd value first.
            if let Some(pos) = text.find("{\"") {
                let end = text[pos + 2..].find('"').map(|e| pos + 2 + e);
                if let Some(end) = end {
                    let key = &text[pos + 2..end];
                    let val = serde_json::to_string(&odd[rng.below(odd.len())]).unwrap();
                    let mut t = text.clone();
                    t.insert_str(pos + 1, &format!("\"{key}\":{val},"));
                    return t.into_bytes();
                }
            }
        }
        text.into_bytes()
    } else {
        let mut b = seed.to_vec();
        for _ in 0..=rng.below(3) {
            let at = rng.below(b.len() + 1);
            match rng.below(3) {
                0 => {
                    let end = (at + 1 + rng.below(8)).min(b.len());
                    if at < end {
                        b.drain(at..end);
                    }
                }
                1 => {
                    let tok = TOKENS[rng.below(TOKENS.len())];
                    b.splice(at..at, tok.iter().copied());
                }
                _ => b.truncate(at),
            }
        }
        b
    }
}

fn results(data: &[u8]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "S {:?}", parse_batch::<Service>(data));
    let _ = writeln!(out, "E {:?}", parse_batch::<Endpoints>(data));
    let _ = writeln!(out, "L {:?}", parse_batch::<EndpointSlice>(data));
    let _ = writeln!(out, "WS {:?}", parse_watch_events::<Service>(data, false));
    let _ = writeln!(out, "WE {:?}", parse_watch_events::<Endpoints>(data, true));
    let _ = writeln!(out, "PS {:?}", parse_list_page::<Service>(data, false));
    let _ = writeln!(out, "PL {:?}", parse_list_page::<EndpointSlice>(data, true));
    // The dict path (a parsed value) agrees with the bytes path.
    if let Ok(v) = parse_json(data) {
        check_value_path::<Service>(&v, data);
        check_value_path::<Endpoints>(&v, data);
        check_value_path::<EndpointSlice>(&v, data);
    }
    out
}

fn check_value_path<K: Kind + PartialEq>(v: &Value, data: &[u8]) {
    let from_value = format!("{:?}", parse_value_batch::<K>(v));
    let from_bytes = format!("{:?}", parse_batch::<K>(data));
    assert_eq!(
        from_value,
        from_bytes,
        "value vs bytes for {}",
        String::from_utf8_lossy(data)
    );
}

/// FNV-1a, stable across platforms and releases.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn json_ingest_matches_golden() {
    let odd = odd_values();
    let mut got = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for (name, seed) in seeds() {
        let mut rng = Rng(fnv(&name) | 1);
        let mut inputs = vec![(name.clone(), seed.clone())];
        for m in 0..MUTANTS_PER_SEED {
            inputs.push((format!("{name}#{m}"), mutate(&seed, &mut rng, &odd)));
        }
        for (label, data) in inputs {
            let r = results(&data);
            got.insert(label.clone(), format!("{:016x}", fnv(&r)));
            texts.insert(label, (data, r));
        }
    }
    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/json_equivalence.golden");
    let mut rendered = String::new();
    for (k, h) in &got {
        let _ = writeln!(rendered, "{k}\t{h}");
    }
    if std::env::var_os("JSON_EQUIVALENCE_BLESS").is_some() {
        std::fs::write(&golden_path, rendered).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&golden_path).unwrap();
    let want: BTreeMap<&str, &str> = golden.lines().filter_map(|l| l.split_once('\t')).collect();
    let mut failures = Vec::new();
    for (label, hash) in &got {
        if want.get(label.as_str()) != Some(&hash.as_str()) {
            let (data, r) = &texts[label];
            failures.push(format!(
                "{label}: input {:?}\n  got {r}",
                String::from_utf8_lossy(data)
            ));
        }
    }
    assert_eq!(want.len(), got.len(), "input set changed");
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        got.len(),
        failures[..failures.len().min(5)].join("\n")
    );
}

/// A realistic Service as the API server streams it (shapes of `benches/generator.py`, plus the
/// rarer features: headless, dual-stack, `ExternalName`, client-IP affinity, escaped annotations).
fn generated_service(i: usize, rng: &mut Rng) -> String {
    const APPS: [&str; 5] = ["web", "api", "db", "cache", "queue"];
    const NAMESPACES: [&str; 4] = ["default", "kube-system", "shop", ""];
    let app = APPS[i % APPS.len()];
    let ns = NAMESPACES[rng.below(NAMESPACES.len())];
    let kind = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName", ""][rng.below(5)];
    let ip = format!("10.96.{}.{}", (i >> 8) & 255, (i & 255).max(1));
    let mut ports = Vec::new();
    let sets: [&[(&str, u32, &str, &str)]; 4] = [
        &[("http", 80, "8080", "TCP")],
        &[
            ("http", 80, "\"http\"", "TCP"),
            ("https", 443, "8443", "TCP"),
        ],
        &[("dns", 53, "53", "UDP"), ("dns-tcp", 53, "53", "TCP")],
        &[("", 6379, "0", "")],
    ];
    for (name, port, target, proto) in sets[rng.below(sets.len())] {
        let mut p = format!("\"port\":{port},\"targetPort\":{target}");
        if !name.is_empty() {
            p = format!("\"name\":\"{name}\",{p}");
        }
        if !proto.is_empty() {
            let _ = write!(p, ",\"protocol\":\"{proto}\"");
        }
        if matches!(kind, "NodePort" | "LoadBalancer") {
            let _ = write!(p, ",\"nodePort\":{}", 30000 + rng.below(2768));
        }
        if rng.below(4) == 0 {
            p.push_str(",\"appProtocol\":\"kubernetes.io/h2c\"");
        }
        ports.push(format!("{{{p}}}"));
    }
    let mut spec = vec![format!("\"ports\":[{}]", ports.join(","))];
    if !kind.is_empty() {
        spec.push(format!("\"type\":\"{kind}\""));
    }
    if kind == "ExternalName" {
        spec.push("\"externalName\":\"db.example.com.\"".into());
    } else {
        match rng.below(4) {
            0 => spec.push("\"clusterIP\":\"None\",\"clusterIPs\":[\"None\"]".into()),
            1 => spec.push(format!(
                "\"clusterIP\":\"{ip}\",\"clusterIPs\":[\"{ip}\",\"fd00::{i:x}\"],\"ipFamilies\":[\"IPv4\",\"IPv6\"],\"ipFamilyPolicy\":\"PreferDualStack\""
            )),
            _ => spec.push(format!(
                "\"clusterIP\":\"{ip}\",\"clusterIPs\":[\"{ip}\"],\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\""
            )),
        }
        spec.push(format!(
            "\"selector\":{{\"app\":\"{app}\",\"instance\":\"{app}-{i}\"}}"
        ));
        spec.push("\"internalTrafficPolicy\":\"Cluster\"".into());
    }
    if rng.below(3) == 0 && kind != "ExternalName" {
        spec.push("\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":600}}".into());
    } else {
        spec.push("\"sessionAffinity\":\"None\"".into());
    }
    if kind == "LoadBalancer" {
        spec.push("\"externalTrafficPolicy\":\"Local\",\"healthCheckNodePort\":32000,\"loadBalancerSourceRanges\":[\"203.0.113.0/24\"],\"externalIPs\":[\"192.0.2.10\"]".into());
    }
    if rng.below(5) == 0 {
        spec.push(
            "\"publishNotReadyAddresses\":true,\"allocateLoadBalancerNodePorts\":true".into(),
        );
    }
    let status = if kind == "LoadBalancer" {
        format!("{{\"loadBalancer\":{{\"ingress\":[{{\"ip\":\"203.0.{}.1\"}},{{\"hostname\":\"lb.example.com\"}}]}}}}", i & 255)
    } else {
        "{\"loadBalancer\":{}}".into()
    };
    let uid = format!(
        "{:08x}-1b2c-4d5e-8f90-{:012x}",
        rng.next() as u32,
        rng.next() >> 16
    );
    let annotations = if rng.below(3) == 0 {
        ",\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"apiVersion\\\":\\\"v1\\\",\\\"x\\\":[1,2.5,null]}\\n\",\"note\":\"caf\\u00e9\"}"
    } else {
        ""
    };
    format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{{\"name\":\"{app}-{i:06}\",\"namespace\":\"{ns}\",\"uid\":\"{uid}\",\"resourceVersion\":\"{}\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\",\"labels\":{{\"app\":\"{app}\",\"app.kubernetes.io/instance\":\"{app}-{i}\"}}{annotations},\"managedFields\":[{{\"manager\":\"kubectl\",\"fieldsV1\":{{\"f:spec\":{{\"f:ports\":{{}}}}}}}}]}},\"spec\":{{{}}},\"status\":{status}}}",
        1000 + i,
        spec.join(",")
    )
}

/// One watch-event line holding `object` (newlines flattened so it stays one line).
fn event_line(kind: &str, object: &[u8]) -> Vec<u8> {
    let mut line = format!("{{\"type\":\"{kind}\",\"object\":").into_bytes();
    line.extend(object.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
    line.extend_from_slice(b"}\n");
    line
}

/// The fast path and the walk agree on `data`, with and without `skip_invalid`.
fn assert_fast_matches_walk(data: &[u8]) {
    for skip in [false, true] {
        let fast = format!("{:?}", parse_watch_events::<Service>(data, skip));
        let walk = format!("{:?}", parse_watch_events_walk::<Service>(data, skip));
        assert_eq!(
            fast,
            walk,
            "fast vs walk (skip_invalid={skip}) for {}",
            String::from_utf8_lossy(data)
        );
    }
}

#[test]
fn watch_fast_path_matches_walk() {
    let odd = odd_values();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut objects: Vec<Vec<u8>> = seeds().into_iter().map(|(_, s)| s).collect();
    objects.extend((0..300).map(|i| generated_service(i, &mut rng).into_bytes()));
    let mut taken = 0;
    let mut stream = Vec::new();
    for (n, object) in objects.iter().enumerate() {
        let mut inputs = vec![object.clone()];
        let mut mrng = Rng((n as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        inputs.extend((0..MUTANTS_PER_SEED).map(|_| mutate(object, &mut mrng, &odd)));
        for input in inputs {
            for kind in ["MODIFIED", "ADDED", "DELETED"] {
                let line = event_line(kind, &input);
                assert_fast_matches_walk(&line);
                if Service::fast_event(&line, &mut Interner::new(), &mut Scratch::default())
                    .is_some()
                {
                    taken += 1;
                }
                stream.extend_from_slice(&line);
            }
        }
    }
    // Whole streams too: grouping of ops, the last resourceVersion, interning across lines.
    let lines: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    for chunk in lines.chunks(50) {
        assert_fast_matches_walk(&chunk.join(&b'\n'));
    }
    // Parsing halves of a chunk on other threads changes nothing: the same ops, the first error
    // (with its event index), the same resourceVersion.
    let mut errors = 0;
    for size in [3, 16, 61, 400] {
        for chunk in lines.chunks(size) {
            errors += assert_split_matches_serial(&chunk.join(&b'\n'));
        }
    }
    assert!(
        errors > 0,
        "no chunk failed: the split's error ordering went unchecked"
    );
    // Every generated Service takes the fast path (twice: MODIFIED and ADDED), so the check
    // above is not vacuous.
    assert!(taken >= 600, "fast path taken only {taken} times");
    for i in 0..300 {
        let object = generated_service(i, &mut rng);
        let line = event_line("MODIFIED", object.as_bytes());
        assert!(
            Service::fast_event(&line, &mut Interner::new(), &mut Scratch::default()).is_some(),
            "fast path refused {object}"
        );
    }
}

/// Cutting a chunk into pieces parsed in parallel (2, 3 or 7, however many cores there are)
/// gives exactly the serial result, with and without `skip_invalid`. Returns how many results
/// were errors.
fn assert_split_matches_serial(data: &[u8]) -> usize {
    let mut errors = 0;
    for skip in [false, true] {
        let serial = parse_watch_events_split::<Service>(data, skip, 1);
        errors += usize::from(serial.is_err());
        let serial = format!("{serial:?}");
        for pieces in [2, 3, 7] {
            let split = format!(
                "{:?}",
                parse_watch_events_split::<Service>(data, skip, pieces)
            );
            assert_eq!(
                split,
                serial,
                "{pieces} pieces (skip_invalid={skip}) for {}",
                String::from_utf8_lossy(data)
            );
        }
    }
    errors
}

/// The cases where a split could go wrong: an `ERROR` event or a bad line in the first half with
/// more events (or a worse line) in the second, removals and bookmarks across the boundary.
#[test]
fn watch_split_keeps_event_order() {
    let mut rng = Rng(7);
    let good: Vec<Vec<u8>> = (0..12)
        .map(|i| event_line("MODIFIED", generated_service(i, &mut rng).as_bytes()))
        .collect();
    let deleted = event_line(
        "DELETED",
        br#"{"metadata":{"name":"gone","namespace":"x"}}"#,
    );
    let bookmark =
        b"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"99999\"}}}\n"
            .to_vec();
    let error = b"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410}}\n".to_vec();
    let garbage = b"{\"type\":\"MODIFIED\",\"object\":{\n".to_vec();
    let invalid = event_line(
        "ADDED",
        br#"{"metadata":{"name":"Bad_Name","namespace":"x"},"spec":{"ports":[{"port":0}]}}"#,
    );
    let mut cases: Vec<Vec<&[u8]>> = Vec::new();
    let g = |i: usize| good[i].as_slice();
    cases.push((0..12).map(g).collect());
    cases.push(vec![g(0), g(1), &error, g(2), &garbage, g(3), g(4), g(5)]);
    cases.push(vec![g(0), &invalid, g(1), g(2), g(3), &garbage, g(4), g(5)]);
    cases.push(vec![g(0), g(1), g(2), g(3), g(4), &garbage, g(5), &invalid]);
    cases.push(vec![
        g(0),
        &deleted,
        &deleted,
        &bookmark,
        &deleted,
        g(1),
        g(2),
        &bookmark,
    ]);
    cases.push(vec![
        g(0),
        g(1),
        g(2),
        &bookmark,
        &invalid,
        &invalid,
        g(3),
        &error,
        &garbage,
    ]);
    for case in cases {
        assert_split_matches_serial(&case.concat());
    }
    // And the split does happen: a bad line late in a chunk is reported with its own index.
    let late: Vec<&[u8]> = vec![g(0), g(1), g(2), g(3), g(4), g(5), &garbage, g(6)];
    let err = parse_watch_events_split::<Service>(&late.concat(), false, 3).unwrap_err();
    assert!(err.to_string().contains("events[6]"), "{err}");
}

/// The fuzz corpus (inputs found to reach new code) through the fast path and the walk: watch
/// chunks as they are, objects as the object of one event.
#[test]
fn fuzz_corpus_fast_path_matches_walk() {
    let corpus = repo().join("rust/fuzz/corpus");
    let mut files = 0;
    for (target, as_event) in [("watch_events", false), ("objects", true)] {
        for entry in std::fs::read_dir(corpus.join(target)).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            if as_event {
                assert_fast_matches_walk(&event_line("MODIFIED", &data));
            } else {
                assert_fast_matches_walk(&data);
                assert_split_matches_serial(&data);
            }
            files += 1;
        }
    }
    assert!(files > 100, "only {files} corpus files");
}
