//! Request paths as the connector sends them. It appends `/users` to its configured API URL
//! as given, so a URL ending in `/` yields `//users`; XSOAR 8 URLs end in `/xsoar`. Both
//! must reach the same endpoints as the plain path, so paths are normalized before routing.

use axum::http::uri::{PathAndQuery, Uri};
use axum::http::Request;

/// The XSOAR 8 API prefix, served as an alias of the root.
const PREFIX: &str = "/xsoar";

/// Rewrites the request path: runs of `/` collapse to one, a trailing `/` goes, and a
/// leading `/xsoar` is dropped.
pub fn normalize<B>(mut request: Request<B>) -> Request<B> {
    let path = request.uri().path();
    let normalized = normal_path(path);
    if normalized != path {
        let path_and_query = match request.uri().query() {
            Some(query) => format!("{normalized}?{query}"),
            None => normalized,
        };
        let mut parts = request.uri().clone().into_parts();
        // A path made only by removing characters from a valid one stays valid.
        if let Ok(pq) = PathAndQuery::try_from(path_and_query) {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}

fn normal_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(segment);
    }
    let out = match out.strip_prefix(PREFIX) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_owned(),
        _ => out,
    };
    if out.is_empty() {
        "/".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::normal_path;

    #[test]
    fn paths_reach_the_same_endpoint() {
        for (given, expected) in [
            ("/users", "/users"),
            ("//users", "/users"),
            ("/users/", "/users"),
            ("/xsoar/users", "/users"),
            ("/xsoar//users", "/users"),
            ("/xsoar//users/update", "/users/update"),
            ("//xsoar///user//", "/user"),
            ("/xsoar", "/"),
            ("/", "/"),
            ("/xsoarx/users", "/xsoarx/users"),
            ("/profiles/a%40b.c", "/profiles/a%40b.c"),
        ] {
            assert_eq!(normal_path(given), expected, "{given}");
        }
    }
}
