//! **Deliberately hostile test plugin** for the sandbox tests: each command tries one
//! escape or abuse (files, environment, sockets, hosts off the allow-list, endless loops,
//! memory, huge results, panics, the clock). The host must contain every one of them and
//! keep serving the next call. Never install it in production.

use ilm_plugin_sdk::Field;
use ilm_plugin_sdk::{app_error, commands, fetch, http, iam, instance, ldap, AppError, AppUser};
use ilm_plugin_sdk::{FetchResult, Lookup, PluginInfo};
use serde_json::{json, Value};

struct Hostile;

ilm_plugin_sdk::export_plugin!(Hostile);

const COMMANDS: &[&str] = &[
    "read-file",
    "read-env",
    "open-socket",
    "call-host",
    "loop-forever",
    "grow-memory",
    "return-big",
    "panic",
    "echo",
    "echo-params",
    "clock",
    "ldap-probe",
];

const MIB: usize = 1 << 20;

/// Variables a host process has or a test sets.
const PROBED_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "PWD",
    "ILM_HOME",
    "ILM_TEST_HOST_SECRET",
    "AWS_SECRET_ACCESS_KEY",
    "CARGO_MANIFEST_DIR",
];

/// What an attempt gave, as `{"ok": bool, ...}`.
fn outcome<T: std::fmt::Debug, E: std::fmt::Display>(result: Result<T, E>) -> String {
    match result {
        Ok(value) => json!({"ok": true, "value": format!("{value:?}")}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
    .to_string()
}

impl commands::Guest for Hostile {
    fn run(name: String, args: String) -> Result<String, AppError> {
        match name.as_str() {
            "read-file" => Ok(outcome(std::fs::read_to_string("/etc/passwd"))),
            "read-env" => {
                // std::env::vars() itself aborts on this target ("not supported"), which
                // would hide whether anything leaks; asking by name answers that.
                let seen: Vec<(&str, String)> = PROBED_VARS
                    .iter()
                    .filter_map(|name| Some((*name, std::env::var(name).ok()?)))
                    .collect();
                let args: Vec<String> = std::env::args().collect();
                Ok(
                    json!({"ok": !seen.is_empty() || !args.is_empty(), "vars": seen, "args": args})
                        .to_string(),
                )
            }
            "open-socket" => Ok(outcome(std::net::TcpStream::connect("127.0.0.1:22"))),
            "call-host" => call_host(&args),
            "loop-forever" => {
                // black_box hides the exit condition from the optimizer.
                let mut n: u64 = 0;
                while core::hint::black_box(true) {
                    n = core::hint::black_box(n.wrapping_add(1));
                }
                Ok(n.to_string())
            }
            "grow-memory" => {
                // Touch every page so the memory is really committed.
                let mut chunks: Vec<Vec<u8>> = Vec::new();
                for i in 0..64 {
                    chunks.push(vec![i as u8 | 1; 16 * MIB]);
                }
                let total: usize = chunks.iter().map(Vec::len).sum();
                Ok(core::hint::black_box(total).to_string())
            }
            "return-big" => Ok("x".repeat(100 * 1000 * 1000)),
            "panic" => panic!("hostile panic"),
            "read-past-memory" => {
                // The last page of the 4 GiB address space: past the end of any linear
                // memory the host allows (at most 1 GiB).
                let past_the_end = usize::MAX - 4095;
                // SAFETY: it is not; the read is past the end of linear memory on purpose.
                let byte = unsafe { core::ptr::read_volatile(past_the_end as *const u8) };
                Ok(byte.to_string())
            }
            "recurse-forever" => Ok(recurse(core::hint::black_box(1)).to_string()),
            "echo" => Ok(args),
            "echo-params" => Ok(instance::params()),
            "ldap-probe" => Ok(ldap_probe()),
            "clock" => {
                let now = std::time::SystemTime::now();
                Ok(format!("{now:?}"))
            }
            other => Err(app_error(
                "400",
                format!("hostile has no command {other:?}"),
            )),
        }
    }
}

/// Recursion the optimizer cannot turn into a loop, so each level takes a stack frame.
#[allow(
    unconditional_recursion,
    reason = "it runs until the stack is gone, on purpose"
)]
fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 16]);
    recurse(core::hint::black_box(depth + 1)) + frame[0]
}

/// Calls every `ldap` function; returns `{function: {ok} | {code, message}}`.
fn ldap_probe() -> String {
    let outcome = |result: Result<(), AppError>| match result {
        Ok(()) => json!({"ok": true}),
        Err(e) => json!({"code": e.code, "message": e.message}),
    };
    let search = ldap::search(&ldap::SearchRequest {
        base: "DC=example,DC=test".into(),
        scope: ldap::Scope::Subtree,
        filter: "(objectClass=*)".into(),
        attributes: Vec::new(),
        limit: 0,
    });
    json!({
        "search": outcome(search.map(drop)),
        "add": outcome(ldap::add("CN=x,DC=example,DC=test", &[])),
        "modify": outcome(ldap::modify("CN=x,DC=example,DC=test", &[])),
        "modify-dn": outcome(ldap::modify_dn("CN=x,DC=example,DC=test", "CN=y", None)),
        "delete": outcome(ldap::delete("CN=x,DC=example,DC=test")),
        "set-password": outcome(ldap::set_password("CN=x,DC=example,DC=test", "P@ssw0rd!")),
    })
    .to_string()
}

/// GET `args.url` through the host; the host's refusal is returned as the command's error.
fn call_host(args: &str) -> Result<String, AppError> {
    let args = ilm_plugin_sdk::json_object(args, "the arguments")?;
    let Some(url) = args.get("url").and_then(Value::as_str) else {
        return Err(app_error("400", "call-host needs a url argument"));
    };
    let response = http::send(&http::Request {
        method: "GET".into(),
        url: url.to_owned(),
        headers: Vec::new(),
        body: None,
    })?;
    Ok(json!({
        "status": response.status,
        "headers": response.headers,
        "body": String::from_utf8_lossy(&response.body),
    })
    .to_string())
}

type Plugin = Hostile;
include!("no_users.rs");
