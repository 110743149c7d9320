//! The few URL shapes the transport meets: the API server's and a proxy's base URL, and a
//! query string.

use std::fmt::Write as _;

/// A scheme, host and port, with the path prefix the API server may sit under (some
/// management layers serve clusters at `https://host/k8s/clusters/<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// `https`.
    pub tls: bool,
    /// Host name or IP address, IPv6 without brackets.
    pub host: String,
    /// Port (defaults: 443 / 80).
    pub port: u16,
    /// Path prefix without a trailing slash ("" for none).
    pub prefix: String,
}

impl BaseUrl {
    /// Parse `http(s)://host[:port][/prefix]`; `what` names the setting in errors.
    pub fn parse(url: &str, what: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("{what} {url:?}: {why}");
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(bad("only http:// and https:// URLs are supported"));
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed '[' in the host"))?;
            if !after.is_empty() && !after.starts_with(':') {
                return Err(bad("unexpected text after ']'"));
            }
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                // `fd00::1:6443` is not a host and a port: which colon would it be?
                Some((host, _)) if host.contains(':') => {
                    return Err(bad("an IPv6 address needs brackets"));
                }
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if host.contains(['[', ']']) {
            return Err(bad("a stray '[' or ']' in the host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("bad port"))?,
            None if tls => 443,
            None => 80,
        };
        if path.contains(['?', '#']) {
            return Err(bad("a query or fragment is not supported"));
        }
        Ok(Self {
            tls,
            host: host.to_owned(),
            port,
            prefix: path.trim_end_matches('/').to_owned(),
        })
    }

    /// `host:port`, IPv6 in brackets: for connecting, `Host` and `CONNECT`.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `k=v&k=v`, each part percent-encoded except RFC 3986's unreserved characters.
pub fn encode_query(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(&mut out, key);
        out.push('=');
        encode_into(&mut out, value);
    }
    out
}

fn encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shapes_met_in_kubeconfigs() {
        let u = BaseUrl::parse("https://10.0.0.1:6443", "server").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.prefix.as_str()),
            (true, "10.0.0.1", 6443, "")
        );
        let u = BaseUrl::parse("https://rancher.example/k8s/clusters/c-1/", "server").unwrap();
        assert_eq!((u.port, u.prefix.as_str()), (443, "/k8s/clusters/c-1"));
        let u = BaseUrl::parse("http://[::1]:8080", "server").unwrap();
        assert_eq!(
            (u.host.as_str(), u.authority()),
            ("::1", "[::1]:8080".to_owned())
        );
        assert_eq!(BaseUrl::parse("http://proxy", "proxy").unwrap().port, 80);
        assert_eq!(
            BaseUrl::parse("https://[fd00::1]", "server").unwrap().port,
            443
        );
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        for url in [
            "socks5://p:1080",
            "https://u:p@h",
            "https://h:x",
            "https://",
            "https://h/?a=1",
            // Found by fuzzing: these were read as some other host or port, silently.
            "https://[fd00::1]6443",
            "https://fd00::1",
            "https://fd00::1:6443",
            "http://[[::1]]:80",
            "http://a]b:80",
        ] {
            let err = BaseUrl::parse(url, "proxy").unwrap_err();
            assert!(err.starts_with("proxy "), "{err}");
        }
    }

    #[test]
    fn encodes_selectors() {
        let q = encode_query(&[
            ("labelSelector", "app in (a,b),!x".into()),
            ("limit", "5".into()),
        ]);
        assert_eq!(q, "labelSelector=app%20in%20%28a%2Cb%29%2C%21x&limit=5");
    }
}
