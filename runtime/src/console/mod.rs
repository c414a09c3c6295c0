//! The web console under `/console` (and `/`, which leads there): server-rendered HTML that
//! needs no JavaScript, for the runtime's users signed in with a password. It shows the
//! status, the questions incidents wait on (answered with a button), the incidents, each
//! person's story and the audit log;
//! what a user may do comes from their roles, as for API keys, and every change is audited
//! under their name. It shares the API's server and lockout but not its key auth: the API
//! answers the same paths at the root.

mod audit;
mod page;
mod pages;
mod people;
mod session;

use crate::api::{Db, Lockout, Plugins};
use crate::store::AuthFailure;
use axum::extract::{ConnectInfo, FromRef, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use page::Refused;
use serde::Deserialize;
use session::Viewer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

pub use session::hash_password;

/// The console's routes, for the API's router to merge.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Db: FromRef<S>,
    Arc<Plugins>: FromRef<S>,
    Arc<Lockout>: FromRef<S>,
{
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/console", get(pages::overview))
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", post(logout))
        .route("/console/approvals", get(pages::approvals))
        .route("/console/incidents", get(pages::incidents))
        .route("/console/incidents/{id}", get(pages::incident))
        .route("/console/incidents/{id}/answer", post(answer))
        .route("/console/incidents/{id}/retry", post(retry))
        .route("/console/people", get(people::people))
        .route("/console/people/{email}", get(people::person))
        .route("/console/audit", get(audit::audit))
}

/// A form that changes nothing but carries the session's token.
#[derive(Deserialize)]
struct Csrf {
    #[serde(default)]
    csrf: String,
}

async fn login_form() -> Result<Response, Refused> {
    let token = session::random_token()?;
    Ok(login_page(StatusCode::OK, &token, None))
}

fn login_page(status: StatusCode, token: &str, message: Option<&str>) -> Response {
    let mut response = page::respond(status, pages::login(token, message));
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::login_cookie(Some(token)));
    response
}

#[derive(Deserialize)]
struct SignIn {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

/// The one answer to a failed sign-in, whether the user exists or not.
const WRONG: &str = "Wrong user name or password.";

async fn login(
    State(db): State<Db>,
    State(lockout): State<Arc<Lockout>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Result<Response, Refused> {
    if let Some(wait) = lockout.blocked(peer.ip(), Instant::now()) {
        return Err(Refused::Page {
            status: StatusCode::TOO_MANY_REQUESTS,
            title: "Too many failed sign-ins",
            message: format!(
                "Too many failed sign-ins came from your address; try again in {} minutes.",
                wait.as_secs().div_ceil(60)
            ),
        });
    }
    if !session::login_token_matches(&headers, &form.token) {
        return Err(Refused::forged());
    }
    let session_id = session::random_token()?;
    let id_hash = session::id_hash(&session_id);
    let user = form.username.trim().to_owned();
    let signed_in = db
        .run(move |store| {
            let hash = store.password_hash(&user)?;
            if !session::verify_password(&form.password, hash.as_deref()) {
                return Ok(false);
            }
            store.start_session(&id_hash, &user, session::SESSION_MINUTES)?;
            Ok(true)
        })
        .await?;
    if !signed_in {
        let locked = lockout.failed(peer.ip(), Instant::now());
        let failure = AuthFailure {
            address: peer.ip().to_string(),
            request: "POST /console/login".into(),
            reason: "wrong user name or password".into(),
            lockout_secs: locked.map(|block| block.as_secs()),
        };
        db.run(move |store| store.audit_auth_failure(&failure))
            .await?;
        let token = session::random_token()?;
        return Ok(login_page(StatusCode::UNAUTHORIZED, &token, Some(WRONG)));
    }
    let mut response = Redirect::to("/console").into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        session::session_cookie(Some(&session_id)),
    );
    cookies.append(header::SET_COOKIE, session::login_cookie(None));
    Ok(response)
}

async fn logout(
    viewer: Viewer,
    State(db): State<Db>,
    Form(form): Form<Csrf>,
) -> Result<Response, Refused> {
    viewer.check_csrf(&form.csrf)?;
    let hash = viewer.session_hash();
    db.run(move |store| store.end_session(&hash)).await?;
    let mut response = Redirect::to("/console/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::session_cookie(None));
    Ok(response)
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    answer: String,
}

/// Answers the question incident `id` waits on, as the signed-in user, and resumes it.
async fn answer(
    viewer: Viewer,
    State(db): State<Db>,
    State(plugins): State<Arc<Plugins>>,
    Path(id): Path<i64>,
    Form(form): Form<Answer>,
) -> Result<Response, Refused> {
    let actor = viewer.changing(&form.csrf)?;
    let answer = form.answer.clone();
    let question = db
        .run(move |store| store.answer_question(id, &answer, &actor))
        .await?;
    let resumed = crate::api::resume(&plugins, id).await;
    let message = format!(
        "You answered \u{201c}{}\u{201d} to \u{201c}{}\u{201d}. {}",
        form.answer,
        question.question,
        resumed.next()
    );
    Ok(pages::done(&viewer, id, &message))
}

/// Queues failed incident `id` again, as the signed-in user.
async fn retry(
    viewer: Viewer,
    State(db): State<Db>,
    Path(id): Path<i64>,
    Form(form): Form<Csrf>,
) -> Result<Response, Refused> {
    let actor = viewer.changing(&form.csrf)?;
    let attempt = db.run(move |store| store.retry_failed(id, &actor)).await?;
    let message = format!(
        "Attempt {attempt} is queued: a worker runs the playbook again; apps it already \
         succeeded in are not done again."
    );
    Ok(pages::done(&viewer, id, &message))
}
