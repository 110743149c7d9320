//! W2 ingest without Python, for profiling (`perf record`): the best time over rounds of parsing
//! watch-event chunks, of merging pre-parsed chunks, and of both, per event.
//!
//! `cargo run --release --no-default-features --example w2_ingest -- <chunks> [rounds] [pieces]`
//!
//! `<chunks>` holds the chunks separated by NUL bytes; `python benches/generator.py w2-chunks
//! <chunks>` writes the ones W2 times. `[pieces]` is how many pieces a chunk is cut into for
//! parallel parsing (1: serially).
#![allow(clippy::print_stdout)]
use std::sync::Arc;
use std::time::{Duration, Instant};

use _core::engine::json::watch::parse_watch_events_split;
use _core::engine::model::Service;
use _core::engine::mux::Mux;
use _core::engine::ratelimit::SystemClock;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = std::fs::read(&args[1]).expect("read chunks");
    let rounds: usize = args.get(2).map_or(200, |s| s.parse().expect("rounds"));
    let split: usize = args.get(3).map_or(2, |s| s.parse().expect("pieces"));
    let chunks: Vec<&[u8]> = data.split(|b| *b == 0).collect();
    let events: usize = chunks
        .iter()
        .map(|c| c.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count())
        .sum();
    let mut best_parse = Duration::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        for c in &chunks {
            let b = parse_watch_events_split::<Service>(c, false, split).expect("parse");
            std::hint::black_box(b);
        }
        best_parse = best_parse.min(t.elapsed());
    }
    let mut best_all = Duration::MAX;
    for _ in 0..rounds {
        let mux: Mux<Service> = Mux::new("w2", Duration::ZERO, Arc::new(SystemClock)).expect("mux");
        let src = mux.source("api").expect("source");
        let t = Instant::now();
        for c in &chunks {
            let b = parse_watch_events_split::<Service>(c, false, split).expect("parse");
            for op in b.ops {
                mux.send(src, op).expect("send");
            }
        }
        let rx = mux.request_flush().expect("flush");
        rx.recv().expect("merged");
        best_all = best_all.min(t.elapsed());
        mux.close(Instant::now() + Duration::from_secs(1));
    }
    let mut best_merge = Duration::MAX;
    for _ in 0..rounds {
        let mux: Mux<Service> = Mux::new("w2", Duration::ZERO, Arc::new(SystemClock)).expect("mux");
        let src = mux.source("api").expect("source");
        let batches: Vec<_> = chunks
            .iter()
            .map(|c| parse_watch_events_split::<Service>(c, false, split).expect("parse"))
            .collect();
        let t = Instant::now();
        for b in batches {
            for op in b.ops {
                mux.send(src, op).expect("send");
            }
        }
        let rx = mux.request_flush().expect("flush");
        rx.recv().expect("merged");
        best_merge = best_merge.min(t.elapsed());
        mux.close(Instant::now() + Duration::from_secs(1));
    }
    println!(
        "merge only {:.2} us/event",
        best_merge.as_secs_f64() * 1e6 / events as f64
    );
    let per = |d: Duration| d.as_secs_f64() * 1e6 / events as f64;
    println!(
        "{events} events: parse {:.2} us/event, parse+merge {:.2} us/event",
        per(best_parse),
        per(best_all)
    );
}
