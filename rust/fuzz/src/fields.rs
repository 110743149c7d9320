//! The small text parsers: RFC 3339 trigger times, IPs and CIDRs read as kube-proxy reads them
//! (leading zeros), service-port keys, the API server's base URL, and query encoding.
//!
//! Invariants, for any text: no panic; a parsed value written back in canonical form parses to
//! itself (trigger times through an independent calendar, IPs and CIDRs, port keys exactly
//! back to their text, URLs); a sloppy IP is the standard parse where that succeeds; a CIDR is
//! masked to its network; an encoded query holds only unreserved characters and escapes, and
//! decodes back to its pairs.

use std::net::IpAddr;

use _core::engine::proxy::info::parse_port_key;
use _core::engine::proxy::service::{parse_cidr_sloppy, parse_ip_sloppy};
use _core::engine::proxy::trigger::parse_rfc3339;
use _core::transport::url::{encode_query, BaseUrl};

/// The bytes as text (lossily), through every parser.
pub fn fields(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    trigger_time(&text);
    ip(&text);
    cidr(&text);
    port_key(&text);
    url(&text);
    query(&text);
}

fn trigger_time(text: &str) {
    let Some(at) = parse_rfc3339(text) else {
        return;
    };
    assert!(at.is_finite(), "{text:?}: {at}");
    let whole = at.floor();
    assert!(at - whole < 1.0);
    let secs = whole as i64;
    let days = secs.div_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return;
    }
    let in_day = secs.rem_euclid(86_400);
    let again = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    );
    assert_eq!(
        parse_rfc3339(&again),
        Some(whole),
        "{text:?} is {at}, written {again:?}"
    );
}

/// (year, month, day) of a day count from 1970-01-01 (proleptic Gregorian), by counting whole
/// years then months: slow, and independent of the parser's closed form.
fn civil_from_days(mut days: i64) -> (i64, i64, i64) {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let year_len = |y: i64| if leap(y) { 366 } else { 365 };
    let mut year = 1970;
    // Whole 400-year cycles (146097 days) first, so the loops stay short.
    year += 400 * days.div_euclid(146_097);
    days = days.rem_euclid(146_097);
    while days >= year_len(year) {
        days -= year_len(year);
        year += 1;
    }
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 1;
    for len in lengths {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    (year, month, days + 1)
}

fn ip(text: &str) {
    let Some(ip) = parse_ip_sloppy(text) else {
        return;
    };
    match text.parse::<IpAddr>() {
        Ok(std) => assert_eq!(ip, std, "{text:?}"),
        Err(_) => {
            // Only dotted decimals with leading zeros are read beyond the standard parse.
            let IpAddr::V4(v4) = ip else {
                panic!("{text:?} read as {ip} beyond the standard parse");
            };
            let parts: Vec<u32> = text.split('.').map(|p| p.parse().unwrap_or(999)).collect();
            let octets: Vec<u32> = v4.octets().iter().map(|o| u32::from(*o)).collect();
            assert_eq!(parts, octets, "{text:?}");
        }
    }
    assert_eq!(parse_ip_sloppy(&ip.to_string()), Some(ip), "{text:?}");
}

fn cidr(text: &str) {
    let Some((ip, bits)) = parse_cidr_sloppy(text) else {
        return;
    };
    let masked = match ip {
        IpAddr::V4(v4) => {
            assert!(bits <= 32, "{text:?}");
            let host = u32::MAX.checked_shr(u32::from(bits)).unwrap_or(0);
            u32::from(v4) & host == 0
        }
        IpAddr::V6(v6) => {
            assert!(bits <= 128, "{text:?}");
            let host = u128::MAX.checked_shr(u32::from(bits)).unwrap_or(0);
            u128::from(v6) & host == 0
        }
    };
    assert!(masked, "{text:?} read as {ip}/{bits}: host bits set");
    assert_eq!(
        parse_cidr_sloppy(&format!("{ip}/{bits}")),
        Some((ip, bits)),
        "{text:?}"
    );
}

fn port_key(text: &str) {
    let Some(key) = parse_port_key(text) else {
        return;
    };
    if text.contains('\u{0}') {
        // The key's own separator: such a key matches no port (no name may hold it).
        return;
    }
    let parts: Vec<&str> = key.name.split('\u{0}').collect();
    let [name, port_name, protocol] = parts[..] else {
        panic!("{text:?}: key {:?}", key.name);
    };
    assert_eq!(
        format!("{}/{name}:{port_name}/{protocol}", key.namespace),
        text,
        "a port key written back"
    );
}

fn url(text: &str) {
    let Ok(url) = BaseUrl::parse(text, "server") else {
        return;
    };
    assert!(!url.host.is_empty());
    assert!(!url.prefix.ends_with('/'), "{text:?}: {url:?}");
    let scheme = if url.tls { "https" } else { "http" };
    let again = format!("{scheme}://{}{}", url.authority(), url.prefix);
    assert_eq!(
        BaseUrl::parse(&again, "server"),
        Ok(url),
        "{text:?} written as {again:?}"
    );
}

fn query(text: &str) {
    let pairs: Vec<(&str, String)> = text
        .split('\n')
        .map(|line| {
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            (k, v.to_owned())
        })
        .collect();
    let encoded = encode_query(&pairs);
    assert!(
        encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%&=".contains(&b)),
        "{encoded:?}"
    );
    let decoded: Vec<(String, String)> = encoded
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("every pair has a '='");
            (decode(k), decode(v))
        })
        .collect();
    let expected: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    assert_eq!(decoded, expected, "{encoded:?}");
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ASCII escape");
            out.push(u8::from_str_radix(hex, 16).expect("a hex escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("the pairs were text")
}
