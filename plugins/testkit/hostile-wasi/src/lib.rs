//! **Deliberately hostile test plugin importing WASI 0.2** (built for `wasm32-wasip2`): each
//! command tries to reach files, the environment, the network or name lookups through WASI.
//! The host links WASI but grants nothing through it, so every attempt must fail, while its
//! stderr lands in the plugin's log and the clocks and randomness work. Never install it in
//! production.

use ilm_plugin_sdk::{app_error, commands, fetch, iam, AppError, AppUser};
use ilm_plugin_sdk::{FetchResult, Field, Lookup, PluginInfo};
use serde_json::{json, Map, Value};
use std::io::Write;
use wasip2::sockets::network::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
use wasip2::sockets::{instance_network, ip_name_lookup, tcp_create_socket};

struct HostileWasi;

ilm_plugin_sdk::export!(HostileWasi with_types_in ilm_plugin_sdk);

const COMMANDS: &[&str] = &[
    "read-file",
    "read-dir",
    "read-env",
    "open-socket",
    "resolve-name",
    "write-stderr",
    "clock-and-random",
    "sleep",
];

/// What an attempt gave, as `{"ok": bool, ...}`.
fn outcome<T: std::fmt::Debug, E: std::fmt::Debug>(result: Result<T, E>) -> Value {
    match result {
        Ok(value) => json!({"ok": true, "value": format!("{value:?}")}),
        Err(e) => json!({"ok": false, "error": format!("{e:?}")}),
    }
}

fn arg(args: &Map<String, Value>, name: &str) -> Result<String, AppError> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| app_error("400", format!("the command needs a {name} argument")))
}

/// Connects to `addr` through `wasi:sockets/tcp`, waiting for the outcome.
fn connect(addr: &str) -> Result<(), String> {
    let parsed: std::net::SocketAddrV4 = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let [a, b, c, d] = parsed.ip().octets();
    let network = instance_network::instance_network();
    let socket = tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4)
        .map_err(|e| format!("create: {e:?}"))?;
    let remote = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port: parsed.port(),
        address: (a, b, c, d),
    });
    socket
        .start_connect(&network, remote)
        .map_err(|e| format!("start-connect: {e:?}"))?;
    socket.subscribe().block();
    socket
        .finish_connect()
        .map(drop)
        .map_err(|e| format!("finish-connect: {e:?}"))
}

/// Resolves `name` through `wasi:sockets/ip-name-lookup`.
fn resolve(name: &str) -> Result<Vec<String>, String> {
    let network = instance_network::instance_network();
    let stream = ip_name_lookup::resolve_addresses(&network, name).map_err(|e| format!("{e:?}"))?;
    let mut found = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(address)) => found.push(format!("{address:?}")),
            Ok(None) => return Ok(found),
            Err(wasip2::sockets::network::ErrorCode::WouldBlock) => stream.subscribe().block(),
            Err(e) => return Err(format!("{e:?}")),
        }
    }
}

impl commands::Guest for HostileWasi {
    fn run(name: String, args: String) -> Result<String, AppError> {
        let args = ilm_plugin_sdk::json_object(&args, "the arguments")?;
        let result = match name.as_str() {
            "read-file" => outcome(std::fs::read_to_string("/etc/passwd")),
            "read-dir" => {
                let preopens: Vec<String> = wasip2::filesystem::preopens::get_directories()
                    .into_iter()
                    .map(|(_, path)| path)
                    .collect();
                let mut listing = outcome(std::fs::read_dir(".").map(|d| d.count()));
                listing["preopens"] = json!(preopens);
                listing
            }
            "read-env" => json!({
                "vars": wasip2::cli::environment::get_environment(),
                "args": wasip2::cli::environment::get_arguments(),
            }),
            "open-socket" => outcome(connect(&arg(&args, "addr")?)),
            "resolve-name" => outcome(resolve(&arg(&args, "name")?)),
            "write-stderr" => {
                let line = arg(&args, "line")?;
                let mut stderr = std::io::stderr();
                // The second write has no newline: the host must still log it at the end.
                write!(stderr, "{line}\nunterminated tail")
                    .map_err(|e| app_error("500", e.to_string()))?;
                json!("written")
            }
            "clock-and-random" => json!({
                "now": wasip2::clocks::wall_clock::now().seconds,
                "random": wasip2::random::random::get_random_bytes(16),
            }),
            "sleep" => {
                // An hour in wasi:io/poll, where no guest code runs to be interrupted.
                wasip2::clocks::monotonic_clock::subscribe_duration(3_600_000_000_000).block();
                json!("woke up")
            }
            other => {
                return Err(app_error(
                    "400",
                    format!("hostile-wasi has no command {other:?}"),
                ))
            }
        };
        Ok(result.to_string())
    }
}

type Plugin = HostileWasi;
include!("../../hostile/src/no_users.rs");
