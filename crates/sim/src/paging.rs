//! Paging as every simulator does it: slicing a list into one page, opaque cursors, and
//! RFC 8288 `Link` values. Where each vendor puts the next page's address (a body member, a
//! `Link` header), which parameters carry the cursor and the page size limits stay in the
//! vendor modules.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page<T> {
    /// The page's items, in list order.
    pub(crate) items: Vec<T>,
    /// Whether items follow the page.
    pub(crate) more: bool,
}

/// The `size` items that follow the first `skip` of `items`, and whether any come after them.
/// It reads at most one item past the page, so a filtered iterator over a large table is
/// cheap.
pub(crate) fn page<T>(items: impl IntoIterator<Item = T>, skip: usize, size: usize) -> Page<T> {
    let mut rest = items.into_iter().skip(skip);
    let items = rest.by_ref().take(size).collect();
    Page {
        items,
        more: rest.next().is_some(),
    }
}

/// An opaque cursor: `value` behind a `prefix`, base64url without padding, so that a client
/// can only pass it back as it was given (the vendors' cursors look like this, too).
pub(crate) fn encode_cursor(prefix: &str, value: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{prefix}{value}"))
}

/// The value of a cursor [`encode_cursor`] made with the same `prefix`; `None` for anything
/// else.
pub(crate) fn decode_cursor(prefix: &str, cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix(prefix)
        .map(str::to_string)
}

/// An RFC 8288 link-value: `<url>; rel="rel"`.
pub(crate) fn link(url: &str, rel: &str) -> String {
    format!("<{url}>; rel=\"{rel}\"")
}

/// `base?query` with `pairs` form-encoded, or `base` alone when there are none.
pub(crate) fn with_query(base: &str, pairs: &[(String, String)]) -> String {
    let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if encoded.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_says_whether_more_follow() {
        for (skip, items, more) in [
            (1, vec![2, 3], true),
            (3, vec![4, 5], false),
            (9, vec![], false),
        ] {
            assert_eq!(page(1..=5, skip, 2), Page { items, more }, "skip {skip}");
        }
    }

    #[test]
    fn a_page_reads_one_item_past_its_end() {
        let mut read = 0;
        let counted = (1..).inspect(|_| read += 1);
        let first = page(counted, 0, 3);
        assert!(first.more);
        assert_eq!(read, 4);
    }

    #[test]
    fn cursors_round_trip_only_with_their_prefix() {
        let cursor = encode_cursor("cursor:", "00u1");
        assert_eq!(decode_cursor("cursor:", &cursor).as_deref(), Some("00u1"));
        assert_eq!(decode_cursor("other:", &cursor), None);
        assert_eq!(decode_cursor("cursor:", "not base64!"), None);
    }

    #[test]
    fn links_carry_their_query() {
        let pairs = vec![("after".to_string(), "a b".to_string())];
        assert_eq!(
            link(&with_query("http://h/x", &pairs), "next"),
            "<http://h/x?after=a+b>; rel=\"next\""
        );
        assert_eq!(with_query("http://h/x", &[]), "http://h/x");
    }
}
