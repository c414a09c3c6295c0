//! Paging: the `Link: <…>; rel="next"` headers of RFC 8288 (Okta, GitHub's REST API and
//! many others) and a loop that collects pages up to a limit.
//!
//! ```no_run
//! use ilm_plugin_sdk::paging::{self, Page};
//! use ilm_plugin_sdk::rest::{self, JSON};
//!
//! # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
//! let users = paging::collect("https://acme.test/api/v1/users?limit=200", Some(500), |url| {
//!     let reply = rest::send("GET", url, None, JSON)?;
//!     let items = reply.json()?.as_array().cloned().unwrap_or_default();
//!     Ok(Page { items, next: paging::next_link(&reply.headers) })
//! })?;
//! # Ok(()) }
//! ```

use crate::AppError;
use serde_json::Value;

/// Pages followed at most by one listing, so a server that keeps answering `next` cannot
/// hold the call until its deadline.
pub const MAX_PAGES: usize = 1000;

/// One page of a listing: its items and where the next page is, if anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page's items.
    pub items: Vec<Value>,
    /// The URL of the next page (`None` on the last page).
    pub next: Option<String>,
}

/// Fetches pages with `fetch`, starting at `first`, until the listing ends, a page is
/// empty, [`MAX_PAGES`] were read, or `limit` items are collected (the list is then cut
/// to `limit`).
///
/// ```
/// use ilm_plugin_sdk::paging::{collect, Page};
/// use serde_json::json;
///
/// let pages = |url: &str| Ok(match url {
///     "p1" => Page { items: vec![json!(1), json!(2)], next: Some("p2".into()) },
///     _ => Page { items: vec![json!(3)], next: None },
/// });
/// assert_eq!(collect("p1", None, pages).unwrap(), vec![json!(1), json!(2), json!(3)]);
/// assert_eq!(collect("p1", Some(1), pages).unwrap(), vec![json!(1)]);
/// ```
pub fn collect(
    first: &str,
    limit: Option<usize>,
    mut fetch: impl FnMut(&str) -> Result<Page, AppError>,
) -> Result<Vec<Value>, AppError> {
    let mut items = Vec::new();
    let mut url = first.to_owned();
    for _ in 0..MAX_PAGES {
        let page = fetch(&url)?;
        let empty = page.items.is_empty();
        items.extend(page.items);
        if let Some(limit) = limit {
            if items.len() >= limit {
                items.truncate(limit);
                break;
            }
        }
        match page.next {
            Some(next) if !empty => url = next,
            _ => break,
        }
    }
    Ok(items)
}

/// The URL of the `rel="next"` link among all `Link` headers. A header may hold several
/// comma-separated links and a response may carry several `Link` headers (Okta sends
/// `self` and `next` separately); `rel` may list several space-separated relations.
pub fn next_link(headers: &[(String, String)]) -> Option<String> {
    headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("link"))
        .flat_map(|(_, value)| parse_links(value))
        .find(|(_, rels)| rels.iter().any(|rel| rel.eq_ignore_ascii_case("next")))
        .map(|(url, _)| url)
}

/// The links of one `Link` header value (RFC 8288): `<url>; rel="a b"; x=y, <url2>; …`.
/// A comma inside `<…>` or inside a quoted parameter does not end a link; text that is
/// not a link is skipped.
pub fn parse_links(value: &str) -> Vec<(String, Vec<String>)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after_open = &rest[open + 1..];
        let Some(close) = after_open.find('>') else {
            break;
        };
        let url = after_open[..close].trim();
        let after_url = &after_open[close + 1..];
        let (params, tail) = split_unquoted(after_url, ',').unwrap_or((after_url, ""));
        let mut rels = Vec::new();
        let mut params = params;
        loop {
            let (param, more) = split_unquoted(params, ';').unwrap_or((params, ""));
            if let Some((name, value)) = param.split_once('=') {
                if name.trim().eq_ignore_ascii_case("rel") {
                    let value = value.trim().trim_matches('"');
                    rels.extend(value.split_whitespace().map(str::to_owned));
                }
            }
            if more.is_empty() {
                break;
            }
            params = more;
        }
        if !url.is_empty() {
            links.push((url.to_owned(), rels));
        }
        rest = tail;
    }
    links
}

/// Splits at the first `separator` outside a quoted string: (before, after). `None` when
/// there is none.
fn split_unquoted(text: &str, separator: char) -> Option<(&str, &str)> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                return Some((&text[..i], &text[i + c.len_utf8()..]));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_next_link_is_found_in_separate_headers() {
        let h = headers(&[
            (
                "link",
                "<https://o.test/api/v1/users?limit=2>; rel=\"self\"",
            ),
            (
                "Link",
                "<https://o.test/api/v1/users?after=x&limit=2>; rel=\"next\"",
            ),
        ]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://o.test/api/v1/users?after=x&limit=2")
        );
    }

    #[test]
    fn the_next_link_is_found_among_several_in_one_header() {
        let h = headers(&[(
            "Link",
            "<https://o.test/a?x=1,2>; rel=\"self\", <https://o.test/b>; title=\"a, b; c\"; rel=\"prev next\"",
        )]);
        assert_eq!(next_link(&h).as_deref(), Some("https://o.test/b"));
        let links = parse_links("<https://o.test/a?x=1,2>; rel=self, junk, <u>;rel=next");
        assert_eq!(
            links,
            vec![
                ("https://o.test/a?x=1,2".to_owned(), vec!["self".to_owned()]),
                ("u".to_owned(), vec!["next".to_owned()]),
            ]
        );
    }

    #[test]
    fn no_next_link_is_none() {
        assert_eq!(next_link(&headers(&[("Link", "<u>; rel=\"self\"")])), None);
        assert_eq!(next_link(&headers(&[("Content-Type", "x")])), None);
        assert_eq!(
            next_link(&headers(&[("Link", "<unterminated; rel=next")])),
            None
        );
        assert_eq!(next_link(&headers(&[("Link", "")])), None);
    }
}
