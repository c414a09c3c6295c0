//! PostgreSQL as the store, from the outside: a database that cannot be reached is named
//! (without its password) with the fix, and TLS to the server is checked against the CA
//! given in ILM_DATABASE_CA_FILE. The store's own suite and the durability, fetch and
//! joiner-mover-leaver tests also run on PostgreSQL (`scripts/test`).

mod support;

use support::postgres::Postgres;
use support::{dist, free_port, Ilm, TestCa};

#[test]
fn a_database_that_cannot_be_reached_is_named_without_its_password_with_the_fix() {
    let mut ilm = Ilm::new(dist("plugins"));
    let port = free_port();
    ilm.database = Some(format!("postgres://ilm:hunter2@127.0.0.1:{port}/ilm"));
    let ran = ilm.run(&["instance", "list"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "cannot connect to the database postgres://ilm:***@127.0.0.1:{port}/ilm"
        )),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("ILM_DATABASE"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("hunter2"), "{}", ran.stderr);
}

#[test]
fn tls_to_the_database_is_verified_against_the_ca_the_administrator_gives() {
    let postgres = Postgres::start();
    let url = postgres.new_database();
    let ca = TestCa::new();
    postgres.require_tls(&ca);
    let mut ilm = Ilm::new(dist("test-plugins"));

    // The server takes TLS only: a connection without it is turned away.
    ilm.database = Some(format!("{url}?sslmode=disable"));
    let plain = ilm.run(&["instance", "list"]);
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    assert!(plain.stderr.contains("no encryption"), "{}", plain.stderr);

    // TLS, but the certificate is signed by a private CA nobody named.
    ilm.database = Some(format!("{url}?sslmode=require"));
    let unknown = ilm.run(&["instance", "list"]);
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("ILM_DATABASE_CA_FILE"),
        "{}",
        unknown.stderr
    );

    let ca_file = ca.path("ca.pem").display().to_string();
    let env = [("ILM_DATABASE_CA_FILE", ca_file.as_str())];
    let init = ilm.run_with(&["init", "--json"], &env);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let added = ilm.run_with(&["instance", "add", "app", "--plugin", "memory-app"], &env);
    assert_eq!(added.code, 0, "{}", added.stderr);
    let listed = ilm.run_with(&["instance", "list", "--json"], &env);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.contains("\"app\""), "{}", listed.stdout);
}
