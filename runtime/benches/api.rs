//! API hot paths (issue 7), over HTTPS on loopback with a keep-alive client:
//! `GET /users` with 10,000 users and 50 roles (goal: at most 50 ms a request), gzip as the
//! connector asks for it and uncompressed, from the cached listing and right after a change; `GET /user` with a valid key, whose cost is
//! mostly the key check, as latency and as requests per second from several clients; and
//! the store's part of a rebuilt listing.

#[path = "../../tests/api_common/mod.rs"]
mod api_common;

use api_common::{client, db_path, get, start_https};
use criterion::{criterion_group, criterion_main, Criterion};
use ilm::store::{Actor, NewApiKey, NewUser, Permission, Store};
use std::time::{Duration, Instant};

const USERS: usize = 10_000;
const ROLES: usize = 50;
const CLIENTS: usize = 4;

/// 47 custom roles beside the 3 built-in ones; every user has one to three of them.
fn populate(store: &Store) -> String {
    let mut roles: Vec<String> = store
        .roles()
        .expect("roles")
        .into_iter()
        .map(|r| r.name)
        .collect();
    for n in roles.len()..ROLES {
        let name = format!("Team {n:02}");
        store
            .add_role(
                &name,
                &[Permission::UsersRead, Permission::IncidentsRead],
                &Actor::Cli,
            )
            .expect("role");
        roles.push(name);
    }
    for n in 1..USERS {
        let mine = (0..1 + n % 3).map(|k| roles[(n * 7 + k * 13) % ROLES].clone());
        store
            .add_user(
                &NewUser {
                    username: format!("user{n:05}"),
                    name: format!("User {n:05}"),
                    first_name: "User".into(),
                    last_name: format!("{n:05}"),
                    email: format!("user{n:05}@example.com"),
                    roles: mine.collect(),
                },
                &Actor::Cli,
            )
            .expect("user");
    }
    store
        .create_api_key(
            &NewApiKey {
                user: "admin",
                role: "Administrator",
                expires_at: None,
                comment: "bench",
            },
            &Actor::Cli,
        )
        .expect("key")
        .key
}

fn benches(c: &mut Criterion) {
    // Seeding writes 10,000 transactions: on tmpfs their fsyncs cost nothing.
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("tempdir");
    let store = Store::open(db_path(dir.path())).expect("store");
    let seeding = Instant::now();
    let key = populate(&store);
    assert_eq!(store.users().expect("users").len(), USERS);
    assert_eq!(store.roles().expect("roles").len(), ROLES);
    println!(
        "seeded {USERS} users and {ROLES} roles in {:.1?}",
        seeding.elapsed()
    );

    let server = start_https(dir.path());
    let base = format!("https://{}", server.addr());
    let http = client();
    let users = format!("{base}/xsoar//users");
    let me = format!("{base}/xsoar//user");
    let first = get(&http, &users, Some(&key));
    assert_eq!(first.status, 200);
    assert_eq!(first.headers["content-encoding"], "gzip");
    let plain_size = first.body.len();

    let mut group = c.benchmark_group("api");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    // What a rebuilt listing costs in the store alone.
    group.bench_function("store: users(), 10k users", |b| {
        b.iter(|| assert_eq!(store.users().expect("users").len(), USERS))
    });
    group.bench_function("GET /users, 10k users, gzip", |b| {
        b.iter(|| assert_eq!(get(&http, &users, Some(&key)).status, 200))
    });
    // A change before each request: the listing is rebuilt from the database.
    let mut flip = false;
    let mut change = || {
        flip = !flip;
        let roles = if flip { ["Analyst"] } else { ["Read-Only"] };
        store
            .set_user_roles("user00001", &roles.map(String::from), &Actor::Cli)
            .expect("change");
    };
    group.bench_function("GET /users, 10k users, gzip, after a change", |b| {
        b.iter_batched(
            &mut change,
            |()| assert_eq!(get(&http, &users, Some(&key)).status, 200),
            criterion::BatchSize::PerIteration,
        )
    });
    group.bench_function("GET /users, 10k users, identity", |b| {
        b.iter(|| {
            let reply = http
                .get(&users)
                .header("Authorization", &key)
                .send()
                .expect("request");
            assert!(reply.bytes().expect("body").len() > plain_size / 2);
        })
    });
    group.bench_function("GET /user", |b| {
        b.iter(|| assert_eq!(get(&http, &me, Some(&key)).status, 200))
    });
    group.finish();

    println!(
        "\nsummary ({} cores):",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let median = |change: &mut dyn FnMut()| {
        let mut times: Vec<Duration> = (0..30)
            .map(|_| {
                change();
                let start = Instant::now();
                assert_eq!(get(&http, &users, Some(&key)).status, 200);
                start.elapsed()
            })
            .collect();
        times.sort();
        times[times.len() / 2]
    };
    let cached = median(&mut || {});
    let rebuilt = median(&mut change);
    println!(
        "  GET /users ({USERS} users, {ROLES} roles, {:.1} MiB of JSON, gzip), median of 30: \
         {cached:.1?} from the cached listing, {rebuilt:.1?} right after a change (goal <= 50 ms)",
        plain_size as f64 / (1024.0 * 1024.0),
    );
    let window = Duration::from_secs(5);
    let total: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|_| {
                scope.spawn(|| {
                    let http = client();
                    let start = Instant::now();
                    let mut done = 0;
                    while start.elapsed() < window {
                        assert_eq!(get(&http, &me, Some(&key)).status, 200);
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("client")).sum()
    });
    println!(
        "  GET /user with a valid key: {:.0} requests/s ({CLIENTS} keep-alive clients, {window:?})",
        total as f64 / window.as_secs_f64()
    );
}

criterion_group!(api, benches);
criterion_main!(api);
