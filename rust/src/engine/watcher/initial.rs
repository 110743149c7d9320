//! The end of a streamed list's initial events (KEP-3157): a BOOKMARK whose object carries the
//! annotation `k8s.io/initial-events-end: "true"` and the list's resourceVersion.

use serde_json::Value;

/// The annotation on the bookmark that ends the initial events.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// Where the initial events end in `lines` (complete watch-event lines): the offset just past
/// the end bookmark's line, and its resourceVersion. Only lines that mention the annotation
/// are parsed, so a chunk without it costs one substring search.
pub fn initial_events_end(lines: &[u8]) -> Option<(usize, String)> {
    for hit in memchr::memmem::find_iter(lines, INITIAL_EVENTS_END.as_bytes()) {
        let start = memchr::memrchr(b'\n', &lines[..hit]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &lines[hit..]).map_or(lines.len(), |i| hit + i + 1);
        if let Some(version) = end_bookmark_version(&lines[start..end]) {
            return Some((end, version));
        }
    }
    None
}

fn end_bookmark_version(line: &[u8]) -> Option<String> {
    let event: Value = serde_json::from_slice(line).ok()?;
    if event.get("type")?.as_str()? != "BOOKMARK" {
        return None;
    }
    let meta = event.get("object")?.get("metadata")?;
    let flag = meta.get("annotations")?.get(INITIAL_EVENTS_END)?.as_str()?;
    if flag != "true" {
        return None;
    }
    Some(meta.get("resourceVersion")?.as_str()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDED: &str = r#"{"type":"ADDED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"5"}}}"#;
    const END: &str = r#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9","annotations":{"k8s.io/initial-events-end":"true"}}}}"#;

    #[test]
    fn finds_the_end_bookmark_and_the_offset_past_it() {
        let chunk = format!("{ADDED}\n{END}\n{ADDED}\n");
        let (at, version) = initial_events_end(chunk.as_bytes()).expect("found");
        assert_eq!(version, "9");
        assert_eq!(&chunk[at..], format!("{ADDED}\n"));
    }

    #[test]
    fn ignores_lookalikes() {
        let in_an_object = r#"{"type":"ADDED","object":{"metadata":{"name":"a","namespace":"n","annotations":{"k8s.io/initial-events-end":"true"}}}}"#;
        let not_true = END.replace(r#":"true""#, r#":"false""#);
        for chunk in [
            format!("{ADDED}\n"),
            format!("{in_an_object}\n"),
            format!("{not_true}\n"),
        ] {
            assert_eq!(initial_events_end(chunk.as_bytes()), None, "{chunk}");
        }
        // The end bookmark as the last line without a newline still counts.
        assert_eq!(
            initial_events_end(END.as_bytes()).map(|e| e.0),
            Some(END.len())
        );
    }
}
