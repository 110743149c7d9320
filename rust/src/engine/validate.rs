//! Name and value rules of the API server for the fields we keep; each returns the reason text.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A rule check: `Ok(())` or the reason, phrased as what was expected.
pub type Check = Result<(), String>;

fn label_chars_ok(label: &[u8], first_must_be_letter: bool) -> bool {
    let (Some(&first), Some(&last)) = (label.first(), label.last()) else {
        return false;
    };
    let first_ok = if first_must_be_letter {
        first.is_ascii_lowercase()
    } else {
        is_lower_alnum(first)
    };
    first_ok && is_lower_alnum(last) && label.iter().all(|&c| is_lower_alnum(c) || c == b'-')
}

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// A label of at most 63 characters (see [`label_chars_ok`]); the error names `expected`.
#[inline]
fn label(s: &str, first_must_be_letter: bool, expected: &str) -> Check {
    if s.len() <= 63 && label_chars_ok(s.as_bytes(), first_must_be_letter) {
        Ok(())
    } else {
        Err(format!("expected a lowercase {expected}, got {s:?}"))
    }
}

/// RFC 1123 label (namespaces, port names, hostnames): at most 63 characters, lowercase letters,
/// digits and '-', starting and ending with a letter or digit.
pub fn dns1123_label(s: &str) -> Check {
    label(
        s,
        false,
        "RFC 1123 label (at most 63 characters: lowercase letters, digits and '-', starting and \
         ending with a letter or digit)",
    )
}

/// RFC 1035 label (Service names): like an RFC 1123 label but starting with a letter.
pub fn dns1035_label(s: &str) -> Check {
    label(
        s,
        true,
        "RFC 1035 label (at most 63 characters: lowercase letters, digits and '-', starting with \
         a letter and ending with a letter or digit)",
    )
}

/// RFC 1123 subdomain (object names, node names): at most 253 characters, dot-separated labels.
pub fn dns1123_subdomain(s: &str) -> Check {
    if s.len() <= 253
        && s.split('.')
            .all(|label| label_chars_ok(label.as_bytes(), false))
    {
        Ok(())
    } else {
        Err(format!(
            "expected a lowercase RFC 1123 subdomain (at most 253 characters: lowercase letters, \
             digits, '-' and '.', starting and ending with a letter or digit), got {s:?}"
        ))
    }
}

/// IANA service name (a named `targetPort`): at most 15 characters, lowercase letters, digits and
/// '-', at least one letter, no leading, trailing or doubled '-'.
pub fn iana_svc_name(s: &str) -> Check {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 15
        && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        && b.iter().any(u8::is_ascii_lowercase)
        && b.first() != Some(&b'-')
        && b.last() != Some(&b'-')
        && !s.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected a port number 1-65535 or an IANA service name (at most 15 characters: \
             lowercase letters, digits and '-', at least one letter, no leading, trailing or \
             doubled '-'), got {s:?}"
        ))
    }
}

/// A port number 1–65535.
pub fn port(n: i64) -> Result<u16, String> {
    match u16::try_from(n) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(format!("expected a port number 1-65535, got {n}")),
    }
}

/// An `IPv4` or `IPv6` address, read as the API server reads the IP fields it has always stored
/// (Go's `ParseIPSloppy`): `IPv4` parts may carry leading zeros and are decimal, so
/// `"010.001.002.003"` is 10.1.2.3.
pub fn ip(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| sloppy_ip(s))
        .ok_or_else(|| format!("expected an IPv4 or IPv6 address, got {s:?}"))
}

/// What only the sloppy reading accepts: an `IPv4` address, or an `IPv6` one ending in an
/// `IPv4` address, with leading zeros in the `IPv4` parts.
fn sloppy_ip(s: &str) -> Option<IpAddr> {
    if let Some(v4) = sloppy_ipv4(s) {
        return Some(IpAddr::V4(v4));
    }
    let (head, tail) = s.rsplit_once(':')?;
    let v4 = sloppy_ipv4(tail)?;
    format!("{head}:{v4}")
        .parse::<Ipv6Addr>()
        .ok()
        .map(IpAddr::V6)
}

/// Four dot-separated decimal numbers 0-255, leading zeros allowed.
fn sloppy_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let digits = part.trim_start_matches('0');
        *octet = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// A CIDR `address/prefix` (`loadBalancerSourceRanges`), read as the API server does: spaces
/// around it are allowed (a legacy of the annotation it replaced), the address as [`ip`].
pub fn cidr(s: &str) -> Check {
    let ok = s.trim().split_once('/').is_some_and(|(addr, prefix)| {
        let max = match ip(addr) {
            Ok(IpAddr::V4(_)) => 32,
            Ok(IpAddr::V6(_)) => 128,
            Err(_) => return false,
        };
        !prefix.is_empty()
            && prefix.bytes().all(|c| c.is_ascii_digit())
            && prefix.parse::<u32>().is_ok_and(|p| p <= max)
    });
    if ok {
        Ok(())
    } else {
        Err(format!("expected a CIDR such as \"10.0.0.0/8\", got {s:?}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `check` accepts each of `good` and rejects each of `bad`.
    fn sorts<T, E>(check: fn(&str) -> Result<T, E>, good: &[&str], bad: &[&str]) {
        for s in good {
            assert!(check(s).is_ok(), "{s:?} is accepted");
        }
        for s in bad {
            assert!(check(s).is_err(), "{s:?} is rejected");
        }
    }

    #[test]
    fn labels() {
        let long = "a".repeat(64);
        sorts(
            dns1123_label,
            &["web-1", "1web"],
            &["Web", "-web", "web-", "", &long],
        );
        sorts(dns1035_label, &["web"], &["1web"]);
    }

    #[test]
    fn subdomains() {
        let long = "a".repeat(254);
        sorts(
            dns1123_subdomain,
            &["web.example.com"],
            &["web..com", ".web", "web_1", &long],
        );
    }

    #[test]
    fn svc_names() {
        sorts(
            iana_svc_name,
            &["http", "http-alt"],
            &["8080", "a--b", "abcdefghijklmnop"],
        );
    }

    #[test]
    fn ports_and_addresses() {
        assert_eq!(port(80), Ok(80));
        for n in [0, 65536, -1] {
            assert!(port(n).is_err(), "{n} is rejected");
        }
        sorts(ip, &["10.0.0.1", "fd00::1"], &["10.0.0.256"]);
        sorts(
            cidr,
            &["10.0.0.0/8", "fd00::/64"],
            &["10.0.0.0/33", "10.0.0.0", "10.0.0.0/+8"],
        );
    }

    #[test]
    fn legacy_forms_the_api_server_stores() {
        let v4 = |s: &str| ip(s).ok().map(|a| a.to_string());
        assert_eq!(v4("010.001.002.003").as_deref(), Some("10.1.2.3"));
        assert_eq!(v4("0000010.0.0.00").as_deref(), Some("10.0.0.0"));
        assert_eq!(v4("::ffff:010.0.0.1").as_deref(), Some("::ffff:10.0.0.1"));
        sorts(
            ip,
            &[],
            &[
                "0256.0.0.1",
                "10.0.0",
                "10..0.1",
                "10.0.0.1.",
                "+10.0.0.1",
                " 10.0.0.1",
            ],
        );
        sorts(
            cidr,
            &[" 10.0.0.0/8 ", "010.000.000.000/08"],
            &["10.0.0.0 /8"],
        );
    }
}
