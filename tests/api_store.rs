//! The store behind the API: people, roles, API keys and the audit log.

use ilm::store::{Actor, KeyCheck, NewApiKey, NewUser, Permission, Refusal, Store};

fn refusal(err: anyhow::Error) -> Refusal {
    err.downcast::<Refusal>()
        .unwrap_or_else(|e| panic!("not a refusal: {e:#}"))
}

fn new_user(name: &str, roles: &[&str]) -> NewUser {
    NewUser {
        username: name.into(),
        name: name.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        ..NewUser::default()
    }
}

#[test]
fn a_new_store_has_admin_and_the_builtin_roles() {
    let store = Store::open_in_memory().expect("store");
    let admin = store.user("admin").expect("query").expect("admin");
    assert_eq!(admin.roles, ["Administrator"]);
    assert_eq!(admin.version, 1);
    let roles = store.roles().expect("roles");
    let names: Vec<_> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Administrator", "Analyst", "Read-Only"]);
    assert!(Permission::ALL.iter().all(|p| roles[0].grants(*p)));
    let read_only = &roles[2];
    assert!(read_only.grants(Permission::UsersRead));
    assert!(!read_only.grants(Permission::UsersWrite));
    assert!(roles.iter().all(|r| r.builtin));
}

#[test]
fn reopening_a_database_keeps_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ilm.db");
    Store::open(&path)
        .expect("store")
        .add_user(&new_user("carol", &["Analyst"]), &Actor::Cli)
        .expect("carol");
    let again = Store::open(&path).expect("reopen");
    assert_eq!(again.users().expect("users").len(), 2);
}

#[test]
fn the_user_list_gives_each_user_their_roles_in_the_order_given() {
    let store = Store::open_in_memory().expect("store");
    for (name, roles) in [
        ("zoe", &["Read-Only", "Administrator"][..]),
        ("bob", &["Analyst", "Read-Only", "Administrator"]),
        ("carol", &["Analyst"]),
    ] {
        store
            .add_user(&new_user(name, roles), &Actor::Cli)
            .expect("user");
    }
    store
        .set_user_roles(
            "carol",
            &["Read-Only".into(), "Analyst".into()],
            &Actor::Cli,
        )
        .expect("roles");
    let listed: Vec<(String, Vec<String>)> = store
        .users()
        .expect("users")
        .into_iter()
        .map(|u| (u.id, u.roles))
        .collect();
    let expected = [
        ("admin", &["Administrator"][..]),
        ("bob", &["Analyst", "Read-Only", "Administrator"]),
        ("carol", &["Read-Only", "Analyst"]),
        ("zoe", &["Read-Only", "Administrator"]),
    ];
    assert_eq!(listed.len(), expected.len());
    for ((id, roles), (want_id, want_roles)) in listed.iter().zip(expected) {
        assert_eq!(id, want_id);
        assert_eq!(roles, want_roles, "{id}");
    }
}

#[test]
fn users_need_known_roles_and_unique_tame_names() {
    let store = Store::open_in_memory().expect("store");
    let err = |user: NewUser| refusal(store.add_user(&user, &Actor::Cli).expect_err("refused"));
    assert!(matches!(err(new_user("carol", &[])), Refusal::Invalid(_)));
    assert!(matches!(
        err(new_user("carol", &["Root"])),
        Refusal::NotFound(_)
    ));
    assert!(matches!(
        err(new_user("admin", &["Analyst"])),
        Refusal::Conflict(_)
    ));
    assert!(matches!(
        err(new_user(" carol", &["Analyst"])),
        Refusal::Invalid(_)
    ));
    assert!(matches!(
        err(new_user("", &["Analyst"])),
        Refusal::Invalid(_)
    ));
    assert_eq!(store.users().expect("users").len(), 1);
}

#[test]
fn setting_roles_bumps_the_version_and_audits_only_changes() {
    let store = Store::open_in_memory().expect("store");
    store
        .add_user(&new_user("carol", &["Analyst"]), &Actor::Cli)
        .expect("carol");
    let actor = Actor::ApiKey {
        user: "admin".into(),
        key_id: 7,
    };
    let roles = |names: &[&str]| names.iter().map(|r| r.to_string()).collect::<Vec<_>>();
    let same = store
        .set_user_roles("carol", &roles(&["Analyst"]), &actor)
        .expect("same roles");
    assert_eq!(same.version, 1);
    let changed = store
        .set_user_roles("carol", &roles(&["Read-Only", "Analyst"]), &actor)
        .expect("new roles");
    assert_eq!(changed.version, 2);
    assert_eq!(changed.roles, ["Read-Only", "Analyst"]);
    let log = store.audit_log(10).expect("audit");
    assert_eq!(log.len(), 2, "user.add and one set-roles");
    assert_eq!(log[0].action, "user.set-roles");
    assert_eq!(log[0].api_key, Some(7));
    let err = store
        .set_user_roles("carol", &[], &actor)
        .expect_err("no roles");
    assert!(matches!(refusal(err), Refusal::Invalid(_)));
    let err = store
        .set_user_roles("nobody", &roles(&["Analyst"]), &actor)
        .expect_err("no user");
    assert!(matches!(refusal(err), Refusal::NotFound(_)));
}

#[test]
fn custom_roles() {
    let store = Store::open_in_memory().expect("store");
    let role = store
        .add_role(
            "Syncer",
            &[
                Permission::UsersRead,
                Permission::RolesRead,
                Permission::UsersRead,
            ],
            &Actor::Cli,
        )
        .expect("role");
    assert_eq!(role.permissions, ["users.read", "roles.read"]);
    assert!(!role.builtin);
    let err = store
        .add_role("Analyst", &[Permission::UsersRead], &Actor::Cli)
        .expect_err("taken");
    assert!(matches!(refusal(err), Refusal::Conflict(_)));
    assert!("users.delete".parse::<Permission>().is_err());
    assert_eq!(
        "incidents.read".parse::<Permission>().ok(),
        Some(Permission::IncidentsRead)
    );
}

#[test]
fn keys_are_checked_and_stored_only_as_hashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ilm.db");
    let store = Store::open(&path).expect("store");
    let new = |expires_at| NewApiKey {
        user: "admin",
        role: "Read-Only",
        expires_at,
        comment: "for tests",
    };
    let created = store.create_api_key(&new(None), &Actor::Cli).expect("key");
    assert_eq!(created.key.len(), 64);
    assert_eq!(created.record.state, "active");
    match store.authenticate(&created.key).expect("check") {
        KeyCheck::Valid(holder) => {
            assert_eq!(holder.user, "admin");
            assert_eq!(holder.key_id, created.record.id);
            assert_eq!(holder.role.name, "Read-Only");
        }
        other => panic!("{other:?}"),
    }
    let mut last_changed = created.key.clone();
    last_changed.replace_range(63.., if created.key.ends_with('0') { "1" } else { "0" });
    for not_it in [
        created.key.to_lowercase(),
        created.key[..63].to_owned(),
        last_changed,
        String::new(),
    ] {
        assert_eq!(
            store.authenticate(&not_it).expect("check"),
            KeyCheck::Unknown
        );
    }

    // The secret is nowhere in the database.
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    let mut stmt = conn
        .prepare("SELECT lookup, hex(hash), comment FROM api_keys")
        .expect("query");
    let rows: Vec<(String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert!(rows
        .iter()
        .all(|(a, b, c)| ![a, b, c].iter().any(|v| v.contains(&created.key))));

    let expired = store
        .create_api_key(&new(Some(1)), &Actor::Cli)
        .expect("expired key");
    assert_eq!(expired.record.state, "expired");
    assert_eq!(
        store.authenticate(&expired.key).expect("check"),
        KeyCheck::Expired
    );

    store
        .revoke_api_key(created.record.id, &Actor::Cli)
        .expect("revoke");
    assert_eq!(
        store.authenticate(&created.key).expect("check"),
        KeyCheck::Revoked
    );
    let again = store
        .revoke_api_key(created.record.id, &Actor::Cli)
        .expect_err("twice");
    assert!(matches!(refusal(again), Refusal::Conflict(_)));
    let unknown = store.revoke_api_key(999, &Actor::Cli).expect_err("unknown");
    assert!(matches!(refusal(unknown), Refusal::NotFound(_)));

    let states: Vec<_> = store
        .api_keys()
        .expect("list")
        .into_iter()
        .map(|k| k.state)
        .collect();
    assert_eq!(states, ["revoked", "expired"]);
}

#[test]
fn keys_of_disabled_users_stop_working() {
    let store = Store::open_in_memory().expect("store");
    store
        .add_user(&new_user("dave", &["Analyst"]), &Actor::Cli)
        .expect("dave");
    let key = store
        .create_api_key(
            &NewApiKey {
                user: "dave",
                role: "Analyst",
                expires_at: None,
                comment: "",
            },
            &Actor::Cli,
        )
        .expect("key")
        .key;
    store
        .set_user_disabled("dave", true, &Actor::Cli)
        .expect("disable");
    assert_eq!(
        store.authenticate(&key).expect("check"),
        KeyCheck::OwnerDisabled
    );
    let refused = store
        .create_api_key(
            &NewApiKey {
                user: "dave",
                role: "Analyst",
                expires_at: None,
                comment: "",
            },
            &Actor::Cli,
        )
        .expect_err("disabled");
    assert!(matches!(refusal(refused), Refusal::Invalid(_)));
    store
        .set_user_disabled("dave", false, &Actor::Cli)
        .expect("enable");
    assert!(matches!(
        store.authenticate(&key).expect("check"),
        KeyCheck::Valid(_)
    ));
}
