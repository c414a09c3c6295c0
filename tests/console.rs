//! The web console in a real browser: Debian's headless Chromium, driven through
//! chromedriver (WebDriver), against `ilm serve` over HTTPS. An analyst signs in, sees the
//! question an incident waits on, clicks an answer; the server resumes the incident at once,
//! it closes, and the account is in the app (the real scim2-server); the person's page shows
//! the incident and the account in one timeline; the audit log filters, pages and opens long
//! changes on demand; a failed incident is retried with its button. A read-only user sees
//! no answer buttons and a POST forged with their session is refused; a form without the
//! session's CSRF token is refused; a wrong password reads the same as an unknown user;
//! failed sign-ins lock the address out; People and Audit need their permissions and an
//! expired session signs no one in. A mail that asks a question links to the Approvals page
//! once the console's address is set.
//! Each page is saved as a screenshot in docs/screenshots/.

mod api_common;
mod support;

use api_common::{start_https_running, start_https_with};
use fantoccini::{Client, ClientBuilder, Locator};
use ilm::api::Server;
use ilm::api::{Limits, LockoutPolicy};
use ilm::store::{Actor, AuditFilter, IncidentStatus, NewIncident, Store};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::{chromedriver, dist, repo_root, scim2_server, Ilm, SmtpSink};
use tokio::runtime::Runtime;

const TOKEN: &str = "console-token";

const APPROVE: &str = r#"
let p = incident.fields.userprofile;
if ask(`Provision ${p.email}?`, ["Yes", "No"]) == "Yes" {
    iam("iam-create-user", "gh", p);
}
"#;

/// Chromium as root in a container: no sandbox, no GPU, nothing fetched in the background;
/// the server's certificate is self-signed.
const CHROMIUM_FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--ignore-certificate-errors",
    "--window-size=1200,900",
];

/// The runtime with the GitHub instance `gh`, the Approve and Fail playbooks, and two users with
/// passwords: carol (Analyst, may answer) and dave (Read-Only).
fn runtime(scim_port: u16, books: &Path) -> Ilm {
    std::fs::create_dir_all(books.join("mappers")).expect("mappers dir");
    std::fs::copy(
        repo_root().join("playbooks/mappers/github.rhai"),
        books.join("mappers/github.rhai"),
    )
    .expect("copying the GitHub mapper");
    std::fs::write(books.join("approve.rhai"), APPROVE).expect("playbook");
    std::fs::write(books.join("fail.rhai"), r#"fail("the app is down");"#).expect("playbook");
    std::fs::write(
        books.join("config.toml"),
        "[types]\n\"Approve\" = \"approve\"\n\"Fail\" = \"fail\"\n",
    )
    .expect("config");
    let mut ilm = Ilm::new(dist("plugins"));
    ilm.playbooks_dir = books.to_owned();
    ilm.add_github("gh", scim_port, TOKEN);
    with_users(&ilm);
    ilm
}

/// carol (Analyst, may answer) and dave (Read-Only), with passwords.
fn with_users(ilm: &Ilm) {
    ilm.ok(&[
        "user",
        "add",
        "carol",
        "--name",
        "Carol Analyst",
        "--role",
        "Analyst",
    ]);
    ilm.ok(&[
        "user",
        "add",
        "dave",
        "--name",
        "Dave Reader",
        "--role",
        "Read-Only",
    ]);
    assert_eq!(set_password(ilm, "carol", "carol-password-1"), "");
    assert_eq!(set_password(ilm, "dave", "dave-password-12"), "");
}

/// `ilm user set-password USER` with the password on standard input; its error, if any.
fn set_password(ilm: &Ilm, user: &str, password: &str) -> String {
    let mut child = ilm
        .command(&["user", "set-password", user], &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running ilm user set-password");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("writing the password");
    let out = child.wait_with_output().expect("ilm user set-password");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.success(), stderr.is_empty(), "{stderr}");
    stderr
}

/// Files an incident of `kind` for `email` and runs the worker until it waits or fails.
fn worked_incident(ilm: &Ilm, kind: &str, email: &str) -> i64 {
    let id = filed_incident(ilm, kind, email);
    ilm.ok(&["worker", "--until-idle"]);
    id
}

/// Files an incident of `kind` for `email`.
fn filed_incident(ilm: &Ilm, kind: &str, email: &str) -> i64 {
    let fields = json!({"email": email, "userprofile": {"email": email, "username": email,
        "givenname": "Kim", "surname": "Lee", "title": "Engineer"}});
    ilm.create_incident(kind, &fields)["id"]
        .as_i64()
        .expect("incident id")
}

fn status_of(store: &Store, id: i64) -> IncidentStatus {
    store
        .incident(id)
        .expect("reading it")
        .expect("the incident")
        .status
}

/// The status of incident `id` once no one is running it: an answer's run may outlast the
/// answer's page.
fn settled(store: &Store, id: i64) -> IncidentStatus {
    for _ in 0..600 {
        match status_of(store, id) {
            IncidentStatus::Active => std::thread::sleep(Duration::from_millis(200)),
            status => return status,
        }
    }
    panic!("incident {id} is still running after two minutes");
}

/// A fresh headless Chromium with its own profile.
async fn browser(driver_port: u16, profile: &Path) -> Client {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut capabilities = Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"args": args, "binary": "/usr/bin/chromium"}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session with headless Chromium")
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    let dir = repo_root().join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("docs/screenshots");
    std::fs::write(dir.join(name), png).expect("writing the screenshot");
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
        .text()
        .await
        .expect("its text")
}

/// Signs in through the form; returns the alert shown, if any.
async fn sign_in(browser: &Client, base: &str, user: &str, password: &str) -> Option<String> {
    browser
        .goto(&format!("{base}/console/login"))
        .await
        .expect("the sign-in page");
    let form = browser
        .form(Locator::Css("form[action='/console/login']"))
        .await
        .expect("the sign-in form");
    for (field, value) in [("username", user), ("password", password)] {
        browser
            .find(Locator::Id(field))
            .await
            .unwrap_or_else(|e| panic!("no {field} field: {e}"))
            .send_keys(value)
            .await
            .expect("typing");
    }
    form.submit().await.expect("submitting");
    // The refusal's alert, or the navigation only a signed-in user has.
    let shown = browser
        .wait()
        .for_element(Locator::Css("p.error, nav"))
        .await
        .expect("the page after signing in");
    match shown.attr("class").await.expect("its class").as_deref() {
        Some("error") => Some(shown.text().await.expect("alert text")),
        _ => None,
    }
}

/// The session cookie and the page's CSRF token, to forge requests with outside the browser.
async fn credentials(browser: &Client) -> (String, String) {
    let cookie = browser
        .get_named_cookie("__Host-ilm_session")
        .await
        .expect("the session cookie");
    let csrf = browser
        .find(Locator::Css("input[name=csrf]"))
        .await
        .expect("a form with the CSRF token")
        .attr("value")
        .await
        .expect("its value")
        .expect("a value");
    (format!("__Host-ilm_session={}", cookie.value()), csrf)
}

/// A client that shows redirects rather than following them.
fn plain_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// POSTs an answer form with `cookie`, as a forger would; returns the status and page.
fn forge_answer(server: &Server, id: i64, cookie: &str, form: &[(&str, &str)]) -> (u16, String) {
    post_form(
        server,
        &format!("/console/incidents/{id}/answer"),
        cookie,
        form,
    )
}

/// The first cookie a response sets, as `name=value`.
fn set_cookie(response: &reqwest::blocking::Response) -> String {
    response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a cookie")
        .to_owned()
}

/// The sign-in form's cookie and the token it carries, as a client without a browser gets them.
fn login_form(server: &Server) -> (String, String) {
    let form = plain_client()
        .get(format!("https://{}/console/login", server.addr()))
        .send()
        .expect("the sign-in page");
    let cookie = set_cookie(&form);
    let token = cookie
        .strip_prefix("__Host-ilm_login=")
        .expect("the form's token")
        .to_owned();
    (cookie, token)
}

/// Signs `user` in without a browser; their session cookie.
fn signed_in(server: &Server, user: &str, password: &str) -> String {
    let (cookie, token) = login_form(server);
    let response = plain_client()
        .post(format!("https://{}/console/login", server.addr()))
        .header("Cookie", cookie)
        .form(&[
            ("username", user),
            ("password", password),
            ("token", &token),
        ])
        .send()
        .expect("signing in");
    assert_eq!(response.status().as_u16(), 303, "{user} signs in");
    set_cookie(&response)
}

fn get_page(server: &Server, path: &str, cookie: &str) -> (u16, String) {
    let response = plain_client()
        .get(format!("https://{}{path}", server.addr()))
        .header("Cookie", cookie)
        .send()
        .expect("the page");
    let status = response.status().as_u16();
    (status, response.text().expect("its page"))
}

fn post_form(server: &Server, path: &str, cookie: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response = plain_client()
        .post(format!("https://{}{path}", server.addr()))
        .header("Cookie", cookie)
        .form(form)
        .send()
        .expect("the forged POST");
    let status = response.status().as_u16();
    (status, response.text().expect("its page"))
}

/// Profiles for asked@ (with a field that must never show) and second@, a change of
/// 14,000 characters, and 55 entries by `pager`.
fn with_profiles_and_audit_entries(store: &Store) {
    for (email, name) in [
        ("asked@acme.test", "Kim Lee"),
        ("second@acme.test", "Pat Doe"),
    ] {
        let fields = json!({"displayname": name, "employeeid": "E-1", "title": "Engineer",
            "initialpassword": "hunter2-never-shown"});
        store
            .put_profile(email, fields.as_object().expect("fields"))
            .expect("a profile");
    }
    let big = json!({"body": "x".repeat(14_000)});
    store
        .record_audit(&Actor::Cli, "list.set", "big-list", Value::Null, big)
        .expect("a long audit entry");
    let pager = Actor::Console {
        user: "pager".into(),
    };
    for n in 0..55 {
        store
            .record_audit(
                &pager,
                "list.set",
                &format!("list-{n}"),
                Value::Null,
                json!(n),
            )
            .expect("an audit entry");
    }
}

/// Clicks the element at `target` and waits for `then` on the page it leads to (`what`).
async fn click_then(
    browser: &Client,
    target: Locator<'_>,
    then: Locator<'_>,
    what: &str,
) -> fantoccini::elements::Element {
    browser
        .find(target)
        .await
        .unwrap_or_else(|e| panic!("nothing to click for {what}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking for {what}: {e}"));
    browser
        .wait()
        .for_element(then)
        .await
        .unwrap_or_else(|e| panic!("no {what}: {e}"))
}

async fn texts(browser: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in browser.find_all(Locator::Css(css)).await.expect(css) {
        out.push(element.text().await.expect("its text"));
    }
    out
}

/// People: a search by name finds asked@ only; their page shows the profile without its
/// password and, newest first, the GitHub account the answer made and the incident.
async fn people_pages(browser: &Client, base: &str, incident: i64, account_id: &str) {
    browser
        .goto(&format!("{base}/console/people?q=kim"))
        .await
        .expect("people");
    screenshot(browser, "people.png").await;
    let found = texts(browser, "main tbody tr").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("asked@acme.test Kim Lee"), "{found:?}");
    click_then(
        browser,
        Locator::Css("main tbody a"),
        Locator::Css("ol.timeline"),
        "the person's timeline",
    )
    .await;
    screenshot(browser, "person.png").await;
    assert_eq!(text_of(browser, "h1").await, "asked@acme.test");
    let source = browser.source().await.expect("the page");
    assert!(source.contains("Engineer"), "the profile's fields show");
    assert!(!source.contains("hunter2"), "a password field never shows");
    let lines = texts(browser, "ol.timeline li").await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("Account in gh"), "{lines:?}");
    assert!(lines[0].contains(&format!("id {account_id}")), "{lines:?}");
    assert!(
        lines[1].contains(&format!("Incident {incident}: Approve, closed")),
        "{lines:?}"
    );
    browser
        .find(Locator::Css(&format!(
            "ol.timeline a[href='/console/incidents/{incident}']"
        )))
        .await
        .expect("the incident linked from the timeline");
}

/// Audit: filtered by actor and target, a long change summarised with the whole of it on
/// demand, pages of 50, and a since that is not a time refused.
async fn audit_page(browser: &Client, base: &str, incident: i64) {
    browser
        .goto(&format!("{base}/console/audit?actor=carol"))
        .await
        .expect("carol's entries");
    screenshot(browser, "audit.png").await;
    let rows = texts(browser, "main tbody tr").await;
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.contains("carol")), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.contains(&format!("incident.answer incident {incident}"))),
        "{rows:?}"
    );

    browser
        .goto(&format!("{base}/console/audit?target=big-list"))
        .await
        .expect("the long entry");
    let change = text_of(browser, "main tbody td:nth-child(5)").await;
    assert!(change.chars().count() < 200, "{change}");
    browser
        .find(Locator::Css("main tbody details summary"))
        .await
        .expect("the whole change's disclosure")
        .click()
        .await
        .expect("opening it");
    let whole = text_of(browser, "main tbody details pre").await;
    assert!(
        whole.contains(&"x".repeat(14_000)),
        "the whole change shows on demand"
    );

    browser
        .goto(&format!("{base}/console/audit?actor=pager"))
        .await
        .expect("pager's entries");
    let first = texts(browser, "main tbody tr").await;
    assert_eq!(first.len(), 50);
    assert!(first[0].contains("list-54"), "newest first: {first:?}");
    click_then(
        browser,
        Locator::LinkText("Older entries"),
        Locator::Css("main tbody"),
        "the next page",
    )
    .await;
    let second = texts(browser, "main tbody tr").await;
    assert_eq!(second.len(), 5, "{second:?}");
    assert!(second[4].contains("list-0"), "{second:?}");

    browser
        .goto(&format!(
            "{base}/console/audit?actor=pager&since=2999-01-01"
        ))
        .await
        .expect("a since in the future");
    assert_eq!(text_of(browser, "main p").await, "No entry matches.");
    browser
        .goto(&format!("{base}/console/audit?since=yesterday"))
        .await
        .expect("a since that is not a time");
    let refused = text_of(browser, "p.error").await;
    assert!(refused.contains("must be a UTC date"), "{refused}");
}

#[test]
fn operators_answer_questions_in_a_browser_and_only_with_permission() {
    let scim = scim2_server(TOKEN);
    let books = tempfile::tempdir().expect("tempdir");
    let ilm = runtime(scim.port, books.path());
    let store = Store::open(api_common::db_path(ilm.data_dir.path())).expect("store");
    let server = start_https_running(ilm.data_dir.path(), books.path(), None);
    let base = format!("https://{}", server.addr());
    let driver = chromedriver();
    let rt = Runtime::new().expect("tokio runtime");
    let profiles = tempfile::tempdir().expect("browser profiles");

    let asked = worked_incident(&ilm, "Approve", "asked@acme.test");
    let second = worked_incident(&ilm, "Approve", "second@acme.test");
    let failed = worked_incident(&ilm, "Fail", "failed@acme.test");
    assert_eq!(status_of(&store, failed), IncidentStatus::Failed);
    assert_eq!(status_of(&store, asked), IncidentStatus::Waiting);

    // carol (Analyst) in her own browser.
    let carol = rt.block_on(browser(driver.port, &profiles.path().join("carol")));
    let (wrong, unknown) = rt.block_on(async {
        carol
            .goto(&format!("{base}/console/login"))
            .await
            .expect("sign-in page");
        screenshot(&carol, "login.png").await;
        let wrong = sign_in(&carol, &base, "carol", "not-her-password").await;
        let unknown = sign_in(&carol, &base, "nobody", "not-her-password").await;
        (wrong, unknown)
    });
    let wrong = wrong.expect("a wrong password is refused with a message");
    assert_eq!(wrong, "Wrong user name or password.");
    assert_eq!(
        unknown.as_deref(),
        Some(wrong.as_str()),
        "an unknown user reads the same as a wrong password"
    );

    let (question, buttons) = rt.block_on(async {
        assert_eq!(
            sign_in(&carol, &base, "carol", "carol-password-1").await,
            None
        );
        assert_eq!(text_of(&carol, "h1").await, "Overview");
        screenshot(&carol, "overview.png").await;
        carol
            .goto(&format!("{base}/console/approvals"))
            .await
            .expect("approvals");
        screenshot(&carol, "approvals.png").await;
        let question = text_of(
            &carol,
            &format!("section[aria-labelledby='q-{asked}'] strong"),
        )
        .await;
        // The anchor a mail that asks links to.
        let section = carol
            .find(Locator::Css(&format!("section#incident-{asked}")))
            .await
            .expect("the incident's question");
        let mut buttons = Vec::new();
        for button in section
            .find_all(Locator::Css("button"))
            .await
            .expect("buttons")
        {
            buttons.push(button.text().await.expect("button text"));
        }
        (question, buttons)
    });
    assert_eq!(question, "Provision asked@acme.test?");
    assert_eq!(buttons, ["Yes", "No"]);

    // A form without the session's CSRF token changes nothing, even for carol.
    let (carol_cookie, carol_csrf) = rt.block_on(credentials(&carol));
    let (status, page) = forge_answer(&server, second, &carol_cookie, &[("answer", "Yes")]);
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("Form refused"), "{page}");
    let (status, _) = forge_answer(
        &server,
        second,
        &carol_cookie,
        &[
            ("answer", "Yes"),
            ("csrf", "0".repeat(carol_csrf.len()).as_str()),
        ],
    );
    assert_eq!(status, 403);
    assert_eq!(status_of(&store, second), IncidentStatus::Waiting);

    // Clicking "Yes" answers as carol; the server resumes the incident at once and
    // provisions, with no worker in between.
    let answered = rt.block_on(async {
        click_then(
            &carol,
            Locator::Css(&format!(
                "form[action='/console/incidents/{asked}/answer'] button"
            )),
            Locator::Css("p.notice"),
            "the answer's confirmation",
        )
        .await
        .text()
        .await
        .expect("its text")
    });
    assert!(answered.contains("You answered “Yes”"), "{answered}");
    assert_eq!(settled(&store, asked), IncidentStatus::Closed, "{answered}");
    let answers = store
        .search_audit_log(&AuditFilter {
            limit: 10,
            action: Some("incident.answer".into()),
            ..AuditFilter::default()
        })
        .expect("audit log");
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].actor, "carol");
    assert_eq!(answers[0].api_key, None);

    let accounts = support::scim_users(scim.port, TOKEN, Some("userName eq \"asked@acme.test\""));
    assert_eq!(accounts.len(), 1, "{accounts:?}");

    // Answering again (the incident no longer waits) says so and changes nothing.
    let (status, page) = forge_answer(
        &server,
        asked,
        &carol_cookie,
        &[("answer", "No"), ("csrf", carol_csrf.as_str())],
    );
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("Already changed"), "{page}");

    let account_id = accounts[0]["id"]
        .as_str()
        .expect("the account's id")
        .to_owned();
    with_profiles_and_audit_entries(&store);
    rt.block_on(people_pages(&carol, &base, asked, &account_id));
    rt.block_on(audit_page(&carol, &base, asked));

    let (listed, incident_status, error, retried) = rt.block_on(async {
        carol
            .goto(&format!("{base}/console/incidents"))
            .await
            .expect("incidents");
        screenshot(&carol, "incidents.png").await;
        let listed = text_of(&carol, "table").await;
        carol
            .goto(&format!("{base}/console/incidents/{asked}"))
            .await
            .expect("the incident");
        screenshot(&carol, "incident.png").await;
        let status = carol
            .find(Locator::XPath("//main//tr[th='Status']/td"))
            .await
            .expect("the incident's status")
            .text()
            .await
            .expect("its text");
        // Its person's page is a click away.
        carol
            .find(Locator::Css(
                "main a[href='/console/people/asked%40acme.test']",
            ))
            .await
            .expect("the person linked from the incident");
        // A failed incident shows its error and a Retry button.
        carol
            .goto(&format!("{base}/console/incidents/{failed}"))
            .await
            .expect("the failed incident");
        let error = text_of(&carol, "p.error").await;
        let retried = click_then(
            &carol,
            Locator::Css(&format!(
                "form[action='/console/incidents/{failed}/retry'] button"
            )),
            Locator::Css("p.notice"),
            "the retry's confirmation",
        )
        .await
        .text()
        .await
        .expect("its text");
        // Signing out ends the session.
        click_then(
            &carol,
            Locator::Css("form[action='/console/logout'] button"),
            Locator::Id("username"),
            "the sign-in page after signing out",
        )
        .await;
        (listed, status, error, retried)
    });
    assert!(error.contains("the app is down"), "{error}");
    assert!(retried.starts_with("Attempt 2 is queued"), "{retried}");
    assert_eq!(status_of(&store, failed), IncidentStatus::Pending);
    assert!(listed.contains("asked@acme.test"), "{listed}");
    assert!(listed.contains("second@acme.test"), "{listed}");
    assert_eq!(incident_status, "closed");
    let (status, _) = forge_answer(
        &server,
        second,
        &carol_cookie,
        &[("answer", "Yes"), ("csrf", carol_csrf.as_str())],
    );
    assert_eq!(status, 303, "a signed-out session is sent to sign in");
    rt.block_on(carol.close()).expect("closing the browser");

    // dave (Read-Only) sees the question but no buttons, and his forged POST is refused.
    let dave = rt.block_on(browser(driver.port, &profiles.path().join("dave")));
    let (dave_buttons, dave_question) = rt.block_on(async {
        assert_eq!(
            sign_in(&dave, &base, "dave", "dave-password-12").await,
            None
        );
        dave.goto(&format!("{base}/console/approvals"))
            .await
            .expect("approvals");
        let buttons = dave
            .find_all(Locator::Css("main button"))
            .await
            .expect("buttons")
            .len();
        (buttons, text_of(&dave, "main section strong").await)
    });
    assert_eq!(dave_question, "Provision second@acme.test?");
    assert_eq!(
        dave_buttons, 0,
        "a user without incidents.write gets no buttons"
    );
    let (dave_cookie, dave_csrf) = rt.block_on(credentials(&dave));
    let (status, page) = forge_answer(
        &server,
        second,
        &dave_cookie,
        &[("answer", "Yes"), ("csrf", dave_csrf.as_str())],
    );
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("incidents.write"), "{page}");
    assert_eq!(status_of(&store, second), IncidentStatus::Waiting);
    rt.block_on(dave.close()).expect("closing the browser");
}

#[test]
fn sign_in_needs_its_forms_token_and_failures_lock_the_address_out() {
    let ilm = Ilm::new(dist("plugins"));
    with_users(&ilm);
    let short = set_password(&ilm, "carol", "short");
    assert!(short.contains("shorter than 12 characters"), "{short}");
    let lockout = LockoutPolicy {
        max_failures: 3,
        window: Duration::from_secs(600),
        block: Duration::from_secs(600),
    };
    let server = start_https_with(
        ilm.data_dir.path(),
        Limits {
            lockout,
            ..Limits::default()
        },
    );

    // The sign-in form's token comes with a cookie of its own; without both, no sign-in.
    let (cookie, token) = login_form(&server);
    let sign_in = |user: &str, password: &str, token: &str| {
        post_form(
            &server,
            "/console/login",
            &cookie,
            &[("username", user), ("password", password), ("token", token)],
        )
    };
    let (status, page) = sign_in("carol", "carol-password-1", "");
    assert_eq!(status, 403, "{page}");

    // Three wrong guesses, then even the right password is refused for a while.
    for (user, password) in [
        ("carol", "guess-1"),
        ("nobody", "guess-2"),
        ("carol", "guess-3"),
    ] {
        let (status, page) = sign_in(user, password, &token);
        assert_eq!(status, 401, "{page}");
        assert!(page.contains("Wrong user name or password."), "{page}");
    }
    let (status, _) = sign_in("carol", "carol-password-1", &token);
    assert_eq!(status, 429);
    let store = Store::open(api_common::db_path(ilm.data_dir.path())).expect("store");
    let audited = |action: &str| {
        store
            .search_audit_log(&AuditFilter {
                limit: 10,
                action: Some(action.into()),
                ..AuditFilter::default()
            })
            .expect("audit log")
            .len()
    };
    assert_eq!(audited("auth.fail"), 3);
    assert_eq!(audited("auth.lockout"), 1);
}

#[test]
fn people_and_audit_pages_need_their_read_permissions_and_a_live_session() {
    let ilm = Ilm::new(dist("plugins"));
    with_users(&ilm);
    ilm.ok(&[
        "role",
        "add",
        "Incidents-Only",
        "--permission",
        "incidents.read",
    ]);
    ilm.ok(&[
        "user",
        "add",
        "erin",
        "--name",
        "Erin",
        "--role",
        "Incidents-Only",
    ]);
    assert_eq!(set_password(&ilm, "erin", "erin-password-12"), "");
    let server = start_https_with(ilm.data_dir.path(), Limits::default());

    let erin = signed_in(&server, "erin", "erin-password-12");
    assert_eq!(get_page(&server, "/console/incidents", &erin).0, 200);
    for (path, needed) in [
        ("/console/people", "profiles.read"),
        ("/console/people/kim%40acme.test", "profiles.read"),
        ("/console/audit", "users.read"),
    ] {
        let (status, page) = get_page(&server, path, &erin);
        assert_eq!(status, 403, "{path}: {page}");
        assert!(page.contains(needed), "{path}: {page}");
    }

    // Read-Only grants them; a person the runtime knows nothing of is not found.
    let dave = signed_in(&server, "dave", "dave-password-12");
    assert_eq!(get_page(&server, "/console/people", &dave).0, 200);
    assert_eq!(get_page(&server, "/console/audit", &dave).0, 200);
    let (status, page) = get_page(&server, "/console/people/nobody%40acme.test", &dave);
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("no profile and no incident"), "{page}");

    // A session past its time signs no one in: its pages lead to the sign-in form. (The
    // store keeps a session by the SHA-256 of its id.)
    let store = Store::open(api_common::db_path(ilm.data_dir.path())).expect("store");
    let expired = "an-expired-session-id";
    store
        .start_session(&hex::encode(Sha256::digest(expired)), "dave", 0)
        .expect("an expired session");
    let cookie = format!("__Host-ilm_session={expired}");
    for path in ["/console/people", "/console/audit"] {
        let (status, _) = get_page(&server, path, &cookie);
        assert_eq!(status, 303, "{path} with an expired session");
    }
}

#[test]
fn the_next_page_of_incidents_keeps_an_email_search_that_needs_encoding() {
    let ilm = Ilm::new(dist("plugins"));
    with_users(&ilm);
    // One more than a page, for an address whose `+` a query string reads as a space.
    let email = "kim+ops@acme.test";
    let store = Store::open(api_common::db_path(ilm.data_dir.path())).expect("store");
    let Value::Object(fields) = json!({ "email": email }) else {
        unreachable!()
    };
    for _ in 0..51 {
        store
            .create_incident(&NewIncident {
                kind: "IAM - Update User",
                name: email,
                fields: &fields,
            })
            .expect("an incident");
    }
    let server = start_https_with(ilm.data_dir.path(), Limits::default());
    let dave = signed_in(&server, "dave", "dave-password-12");

    let (status, first) = get_page(
        &server,
        "/console/incidents?email=kim%2Bops%40acme.test",
        &dave,
    );
    assert_eq!(status, 200, "{first}");
    assert!(first.contains("51 incidents match."), "{first}");
    let next = first
        .split("<a href=\"")
        .find_map(|link| link.split_once("\">Next page</a>"))
        .map(|(href, _)| href.replace("&amp;", "&"))
        .unwrap_or_else(|| panic!("no Next page link: {first}"));
    let (status, second) = get_page(&server, &next, &dave);
    assert_eq!(status, 200, "{next}: {second}");
    assert!(second.contains("51 incidents match."), "{next}: {second}");
    assert!(!second.contains("Next page"), "{next}: {second}");
}

/// Asks its question by mail, as a playbook that wants approvers to hear of it does.
const ASK_BY_MAIL: &str = r#"
let p = incident.fields.userprofile;
ask(`Provision ${p.email}?`, ["Yes", "No"], "approvers@acme.test");
"#;

#[test]
fn mails_that_ask_link_to_the_approval_page_once_the_console_has_an_address() {
    let smtp = SmtpSink::start();
    let books = tempfile::tempdir().expect("tempdir");
    let mut ilm = Ilm::new(dist("plugins"));
    let env = [("ILM_SMTP", smtp.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut work = |console: &str, emails: &[&str]| -> (Vec<i64>, String) {
        let dir = books.path().join(format!("books-{}", emails[0]));
        std::fs::create_dir_all(&dir).expect("playbooks dir");
        std::fs::write(dir.join("ask.rhai"), ASK_BY_MAIL).expect("playbook");
        std::fs::write(
            dir.join("config.toml"),
            format!("[types]\n\"Ask\" = \"ask\"\n{console}"),
        )
        .expect("config");
        ilm.playbooks_dir = dir;
        let ids = emails
            .iter()
            .map(|email| filed_incident(&ilm, "Ask", email))
            .collect();
        let ran = ilm.run_with(&["worker", "--until-idle"], &env);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        (ids, ran.stderr)
    };
    // `log`: what the worker said, to tell why a mail is missing.
    let mail_of = |id: i64, log: &str| {
        let subject = format!("Subject: Incident {id} (");
        let found: Vec<String> = smtp
            .messages()
            .into_iter()
            .filter(|m| m.contains(&subject))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one mail asks incident {id}'s question; the worker said:\n{log}"
        );
        found[0].replace("\r\n", "\n")
    };

    let (linked, log) = work(
        "[console]\nurl = \"https://ilm.example.com/\"\n",
        &["kim@acme.test"],
    );
    let mail = mail_of(linked[0], &log);
    assert!(mail.contains("To: approvers@acme.test"), "{mail}");
    assert!(mail.contains("Provision kim@acme.test?"), "{mail}");
    assert!(mail.contains("Answers: Yes, No."), "{mail}");
    assert!(
        mail.contains(&format!(
            "Answer it in the console:\nhttps://ilm.example.com/console/approvals#incident-{}\n",
            linked[0]
        )),
        "{mail}"
    );

    // Without the console's address: no link, and the log says why, once.
    let (plain, log) = work("", &["lee@acme.test", "pat@acme.test"]);
    for id in plain {
        let mail = mail_of(id, &log);
        assert!(!mail.contains("https://"), "{mail}");
        assert!(
            mail.contains(&format!("`ilm incident answer {id} ANSWER`")),
            "{mail}"
        );
    }
    assert_eq!(
        log.matches("carry no link to the console").count(),
        1,
        "{log}"
    );

    // An address that is not one is refused, naming the setting.
    let ran = {
        let dir = books.path().join("bad");
        std::fs::create_dir_all(&dir).expect("playbooks dir");
        std::fs::write(
            dir.join("config.toml"),
            "[console]\nurl = \"ilm.example.com\"\n",
        )
        .expect("config");
        ilm.playbooks_dir = dir;
        ilm.run_with(&["worker", "--until-idle"], &env)
    };
    assert_ne!(ran.code, 0);
    assert!(ran.stderr.contains("[console] url"), "{}", ran.stderr);
}
