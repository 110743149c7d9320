//! W2 ingest without Python, for profiling (`perf record`): the median and best time over rounds of
//! parsing watch-event chunks, of merging pre-parsed chunks, and of both, per event.
//!
//! `cargo run --release --no-default-features --example w2_ingest -- <chunks> [rounds] [pieces]
//! [phases]`
//!
//! `<chunks>` holds the chunks separated by NUL bytes; `python benches/generator.py w2-chunks
//! <chunks>` writes the ones W2 times. `[pieces]` is how many pieces a chunk is cut into for
//! parallel parsing (1: serially). `[phases]` is a comma-separated subset of `parse,merge,both`
//! (all by default): `parse` alone gives a profile of the parser only.
#![allow(clippy::print_stdout)]
use std::sync::Arc;
use std::time::{Duration, Instant};

use _core::engine::json::watch::parse_watch_events_split;
use _core::engine::model::Service;
use _core::engine::mux::Mux;
use _core::engine::ratelimit::SystemClock;

/// Median and best of `rounds` timings of `round`, in µs per event.
fn timed(rounds: usize, events: usize, mut round: impl FnMut() -> Duration) -> (f64, f64) {
    let mut times: Vec<Duration> = (0..rounds).map(|_| round()).collect();
    times.sort();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / events as f64;
    (per(times[times.len() / 2]), per(times[0]))
}

/// One round into a fresh mux: `prepare` runs untimed, then the time of `feed` (sending to the
/// mux's one source) until the merge is published.
fn mux_round<P>(
    prepare: impl FnOnce() -> P,
    feed: impl FnOnce(&Mux<Service>, usize, P),
) -> Duration {
    let mux = Mux::new("w2", Duration::ZERO, Arc::new(SystemClock)).expect("mux");
    let src = mux.source("api").expect("source");
    let input = prepare();
    let t = Instant::now();
    feed(&mux, src, input);
    let rx = mux.request_flush().expect("flush");
    rx.recv().expect("merged");
    let took = t.elapsed();
    mux.close(Instant::now() + Duration::from_secs(1));
    took
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = std::fs::read(&args[1]).expect("read chunks");
    let rounds: usize = args.get(2).map_or(200, |s| s.parse().expect("rounds"));
    let pieces: usize = args.get(3).map_or(2, |s| s.parse().expect("pieces"));
    let phases = args.get(4).map_or("parse,merge,both", String::as_str);
    let chunks: Vec<&[u8]> = data.split(|b| *b == 0).collect();
    let events: usize = chunks
        .iter()
        .map(|c| c.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count())
        .sum();
    let parse = |c: &[u8]| parse_watch_events_split::<Service>(c, false, pieces).expect("parse");
    let mut report = Vec::new();
    if phases.contains("parse") {
        let took = timed(rounds, events, || {
            let t = Instant::now();
            for c in &chunks {
                std::hint::black_box(parse(c));
            }
            t.elapsed()
        });
        report.push(("parse", took));
    }
    if phases.contains("merge") {
        let took = timed(rounds, events, || {
            mux_round(
                || chunks.iter().map(|c| parse(c)).collect::<Vec<_>>(),
                |mux, src, batches| {
                    for op in batches.into_iter().flat_map(|b| b.ops) {
                        mux.send(src, op).expect("send");
                    }
                },
            )
        });
        report.push(("merge", took));
    }
    if phases.contains("both") {
        let took = timed(rounds, events, || {
            mux_round(
                || (),
                |mux, src, ()| {
                    for c in &chunks {
                        for op in parse(c).ops {
                            mux.send(src, op).expect("send");
                        }
                    }
                },
            )
        });
        report.push(("parse+merge", took));
    }
    println!(
        "{events} events in {} chunks, {pieces} piece(s) per chunk; median (best) per event:",
        chunks.len()
    );
    for (what, (median, best)) in report {
        println!("  {what:<12} {median:.2} µs ({best:.2} µs)");
    }
}
