//! Stable-toolchain fuzzing without libFuzzer: replay each target's corpus, then feed it seeded
//! random mutations of the corpus (byte edits, JSON tokens, splices, nesting) for a number of
//! iterations. A panicking input is saved under `artifacts/<target>/` and the run fails.
//!
//! `cargo run --release --bin mutate -- [ITERATIONS] [SEED] [TARGET]` (defaults: 100000, 1, all).
#![forbid(unsafe_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use kubeproxy_config_fuzz::{corpus, run, TARGETS};

/// Fragments that steer mutations towards interesting JSON.
#[rustfmt::skip]
const TOKENS: &[&[u8]] = &[
    b"{", b"}", b"[", b"]", b"\"", b":", b",", b"null", b"true", b"false", b"0", b"-1",
    b"65535", b"65536", b"1e309", b"-0.0", b"80.5", b"18446744073709551616", b"\"\"",
    b"\"\\u0000\"", b"\"\\ud800\"", b"\"None\"", b"\"::1\"", b"\"10.0.0.1\"", b"\"a/b\"",
    b"\n", b"{\"type\":\"ADDED\",\"object\":", b"{\"type\":\"DELETED\",\"object\":",
    b"{\"type\":\"BOOKMARK\",\"object\":", b"{\"type\":\"ERROR\",\"object\":",
    b"\"metadata\":{\"name\":\"a\"}", b"\"items\":[", b"\"kind\":\"ServiceList\"",
    b"\"resourceVersion\":\"1\"", b"\"ports\":[{\"port\":80}]", b"\"targetPort\":\"http\"",
    b"\"type\":\"ExternalName\"", b"\"clusterIP\":\"None\"", b"\"addressType\":\"FQDN\"",
    b"\"subsets\":[{\"addresses\":[{\"ip\":\"1.2.3.4\"}]}]", b"\xff", b"\xc3\x28",
];

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut Rng, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(9) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.next() as u8;
            }
            2 => out.insert(at, rng.next() as u8),
            3 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            4 | 5 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            6 if !pool.is_empty() => {
                // Splice in a slice of another corpus input.
                let other = &pool[rng.below(pool.len())];
                let start = rng.below(other.len());
                let end = (start + rng.below(256)).min(other.len());
                out.splice(at..at, other[start..end].iter().copied());
            }
            7 if !out.is_empty() => {
                // Duplicate a range (repeated fields, repeated events).
                let start = rng.below(out.len());
                let end = (start + rng.below(64)).min(out.len());
                let copy = out[start..end].to_vec();
                out.splice(at..at, copy);
            }
            8 => {
                let depth = 1 + rng.below(200);
                let mut nested = b"[".repeat(depth);
                nested.extend(b"]".repeat(depth));
                out.splice(at..at, nested);
            }
            _ => out.truncate(at),
        }
    }
    out
}

fn save(target: &str, data: &[u8]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("artifacts")
        .join(target);
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("crash-{hash:016x}"));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(&path, data);
    path.display().to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let iterations: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let only = args.get(3).cloned();
    // Panics are expected findings here: report them through our own summary only.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = 0_usize;
    for target in TARGETS {
        if only.as_deref().is_some_and(|t| t != target) {
            continue;
        }
        let pool: Vec<Vec<u8>> = corpus(target)
            .expect("corpus directory readable")
            .into_iter()
            .map(|(_, data)| data)
            .collect();
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let started = Instant::now();
        let mut crashes = 0_usize;
        let mut check = |data: &[u8]| {
            if catch_unwind(AssertUnwindSafe(|| run(target, data))).is_err() {
                crashes += 1;
                eprintln!("{target}: panic, input saved to {}", save(target, data));
            }
        };
        for input in &pool {
            check(input);
        }
        for _ in 0..iterations {
            let base = if pool.is_empty() {
                Vec::new()
            } else {
                pool[rng.below(pool.len())].clone()
            };
            let input = mutate(&mut rng, &base, &pool);
            check(&input);
        }
        let secs = started.elapsed().as_secs_f64();
        let execs = iterations + pool.len() as u64;
        println!(
            "{target}: {execs} executions in {secs:.1} s ({:.0}/s), corpus {}, panics {crashes}",
            execs as f64 / secs,
            pool.len(),
        );
        failed += crashes;
    }
    if failed > 0 {
        std::process::exit(1);
    }
}
