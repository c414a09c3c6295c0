//! The frame every console page shares (one small stylesheet, a navigation bar, a sign-out
//! form) and the pages that refuse a request: each says what happened and what to do.

use super::session::Viewer;
use crate::store::{Permission, Refusal};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};

/// Dark text on white, a blue with 4.5:1 or more against both, and a visible focus ring.
const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff;line-height:1.45}
header{background:#0b3d91;color:#fff;padding:.6rem 1rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;font-weight:600}
header form{margin-left:auto}
main{padding:1rem;max-width:70rem}
a{color:#0b3d91}
a:focus,button:focus,input:focus,select:focus{outline:3px solid #f5a623;outline-offset:2px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #999;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#eef1f6}
button{background:#0b3d91;color:#fff;border:0;padding:.4rem .9rem;border-radius:3px;cursor:pointer;font-size:1rem}
header button{background:#fff;color:#0b3d91}
label{display:block;margin:.5rem 0 .2rem;font-weight:600}
input,select{font-size:1rem;padding:.3rem}
.notice{border-left:5px solid #0b3d91;background:#eef1f6;padding:.6rem 1rem}
.error{border-left:5px solid #b00020;background:#fdecee;padding:.6rem 1rem}
.answers form{display:inline-block;margin-right:.4rem}
summary{cursor:pointer;color:#0b3d91}
.timeline li{margin:.3rem 0}
pre{white-space:pre-wrap;word-break:break-word;margin:0}
";

/// A whole page: the frame with `title` and `body`; the navigation and sign-out form when
/// someone is signed in.
pub fn frame(viewer: Option<&Viewer>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ilm console" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "ilm" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Console" {
                            a href="/console" { "Overview" } " · "
                            a href="/console/approvals" { "Approvals" } " · "
                            a href="/console/incidents" { "Incidents" } " · "
                            a href="/console/people" { "People" } " · "
                            a href="/console/audit" { "Audit" }
                        }
                        form method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(viewer.csrf());
                            span { "Signed in as " (viewer.user.name) " (" (viewer.user.user) ") " }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A full page as a response with `status`.
pub fn respond(status: StatusCode, page: Markup) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        [(header::X_FRAME_OPTIONS, "DENY")],
        page,
    )
        .into_response()
}

/// Why a console request was not done.
#[derive(Debug)]
pub enum Refused {
    /// No live session: to the sign-in page.
    SignIn,
    /// A page saying why, with its status.
    Page {
        status: StatusCode,
        title: &'static str,
        message: String,
    },
}

impl Refused {
    pub fn forged() -> Self {
        Self::Page {
            status: StatusCode::FORBIDDEN,
            title: "Form refused",
            message: "This form did not come from your current session (it may be from an \
                      older sign-in, or from another site). Nothing was changed; open the page \
                      again and resubmit."
                .into(),
        }
    }

    pub fn forbidden(permission: Permission) -> Self {
        Self::Page {
            status: StatusCode::FORBIDDEN,
            title: "Not allowed",
            message: format!(
                "Your roles do not grant {permission}, which this needs. Nothing was changed; \
                 ask an administrator for a role that grants it."
            ),
        }
    }
}

impl From<anyhow::Error> for Refused {
    fn from(err: anyhow::Error) -> Self {
        let (status, title) = match err.downcast_ref::<Refusal>() {
            Some(Refusal::NotFound(_)) => (StatusCode::NOT_FOUND, "Not found"),
            Some(Refusal::Invalid(_)) => (StatusCode::BAD_REQUEST, "Not accepted"),
            Some(Refusal::Conflict(_)) => (StatusCode::CONFLICT, "Already changed"),
            Some(Refusal::Forbidden(_)) => (StatusCode::FORBIDDEN, "Not allowed"),
            None => {
                tracing::error!("console request failed: {err:#}");
                return Self::Page {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    title: "Something went wrong",
                    message: "The server could not do this; its log has the details.".into(),
                };
            }
        };
        Self::Page {
            status,
            title,
            message: format!("{err}. Nothing was changed."),
        }
    }
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Self {
        anyhow::Error::from(refusal).into()
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn => Redirect::to("/console/login").into_response(),
            Self::Page {
                status,
                title,
                message,
            } => respond(
                status,
                frame(
                    None,
                    title,
                    html! {
                        p.error role="alert" { (message) }
                        p { a href="/console" { "Back to the console" } }
                    },
                ),
            ),
        }
    }
}
