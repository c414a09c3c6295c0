//! Every change to a user profile, an incident, an instance or a list goes to the audit
//! log, whichever code path made it: triggers write the entry in the same transaction as
//! the change, with the connection's current actor (`Store::act_as`). On SQLite they are
//! temporary triggers each connection creates, reading the actor from a temporary table;
//! PostgreSQL's schema has them (`postgres/V1__schema.sql`), reading the session's
//! `ilm.actor` setting.

use super::db::Conn;
use super::Store;
use anyhow::Result;

/// The actor a connection's changes are logged under until `act_as` says otherwise.
pub(super) const DEFAULT_ACTOR: &str = "cli";

/// Creates the connection's actor slot and the triggers. TEMP objects live and die with
/// the connection, so they never reach the schema migrations.
pub(super) fn install(conn: &Conn) -> Result<()> {
    if let Conn::Postgres(pg) = conn {
        pg.set_actor(DEFAULT_ACTOR)?;
        return Ok(());
    }
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE audit_actor (actor TEXT NOT NULL);
        INSERT INTO temp.audit_actor VALUES ('{DEFAULT_ACTOR}');
        CREATE TEMP TRIGGER audit_profile_insert AFTER INSERT ON main.user_profiles BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'profile.create', new.email, NULL, new.fields);
        END;
        CREATE TEMP TRIGGER audit_profile_update AFTER UPDATE OF fields ON main.user_profiles
        WHEN old.fields IS NOT new.fields BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'profile.update', new.email, old.fields, new.fields);
        END;
        CREATE TEMP TRIGGER audit_profile_delete AFTER DELETE ON main.user_profiles BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'profile.delete', old.email, old.fields, NULL);
        END;
        CREATE TEMP TRIGGER audit_incident_insert AFTER INSERT ON main.incidents BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'incident.create', 'incident ' || new.id, NULL,
                    json_object('type', new.type, 'status', new.status, 'fields', json(new.fields)));
        END;
        CREATE TEMP TRIGGER audit_incident_update AFTER UPDATE ON main.incidents
        WHEN old.status IS NOT new.status OR old.owner IS NOT new.owner OR old.fields IS NOT new.fields BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'incident.update', 'incident ' || new.id,
                    json_object('status', old.status, 'owner', old.owner, 'fields', json(old.fields)),
                    json_object('status', new.status, 'owner', new.owner, 'fields', json(new.fields)));
        END;
        {instance_triggers}
        CREATE TEMP TRIGGER audit_list_insert AFTER INSERT ON main.lists BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'list.set', new.name, NULL, json_quote(new.body));
        END;
        CREATE TEMP TRIGGER audit_list_update AFTER UPDATE OF body ON main.lists
        WHEN old.body IS NOT new.body BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'list.set', new.name, json_quote(old.body), json_quote(new.body));
        END;
        CREATE TEMP TRIGGER audit_list_delete AFTER DELETE ON main.lists BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'list.delete', old.name, json_quote(old.body), NULL);
        END;",
        instance_triggers = instance_triggers(),
    ))?;
    Ok(())
}

/// An instance as its audit entries show it: the secrets by name only (their values are
/// sealed, and a re-seal with a new key is no change).
fn instance_json(row: &str) -> String {
    format!(
        "json_object('plugin', {row}.plugin, 'params', json({row}.params), \
         'secrets', (SELECT json_group_array(key) FROM json_each({row}.secrets)), \
         'allow_hosts', json({row}.allow_hosts), 'limits', json({row}.limits), 'enabled', {row}.enabled)"
    )
}

fn instance_triggers() -> String {
    let (old, new) = (instance_json("old"), instance_json("new"));
    format!(
        "CREATE TEMP TRIGGER audit_instance_insert AFTER INSERT ON main.instances BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'instance.add', new.name, NULL, {new});
        END;
        CREATE TEMP TRIGGER audit_instance_update AFTER UPDATE ON main.instances
        WHEN {old} IS NOT {new} BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'instance.edit', new.name, {old}, {new});
        END;
        CREATE TEMP TRIGGER audit_instance_delete AFTER DELETE ON main.instances BEGIN
            INSERT INTO audit_log (actor, action, target, before, after)
            VALUES ((SELECT actor FROM temp.audit_actor), 'instance.remove', old.name, {old}, NULL);
        END;"
    )
}

impl Store {
    /// Logs this connection's later changes under `actor` (e.g. `playbook iam-sync-user`).
    pub fn act_as(&self, actor: &str) -> Result<()> {
        match self.conn() {
            Conn::Postgres(pg) => pg.set_actor(actor)?,
            sqlite => {
                sqlite.execute("UPDATE temp.audit_actor SET actor = ?1", [actor])?;
            }
        }
        Ok(())
    }

    /// Runs `change` with its changes logged under `actor`, then puts the connection's
    /// actor back (a pooled connection serves other callers next).
    pub(super) fn acting_as<T>(
        &self,
        actor: &str,
        change: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let previous: String = match self.conn() {
            Conn::Postgres(pg) => pg.actor(),
            sqlite => sqlite.query_row("SELECT actor FROM temp.audit_actor", (), |r| r.get(0))?,
        };
        self.act_as(actor)?;
        let result = change();
        self.act_as(&previous)?;
        result
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{NewIncident, Store};
    use serde_json::{json, Map, Value};

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn profile_and_incident_changes_are_logged_with_the_actor_and_before_after() {
        let store = Store::open_in_memory().unwrap();
        store
            .put_profile("a@x.test", &fields(json!({"title": "Engineer"})))
            .unwrap();
        store.act_as("playbook iam-update-user").unwrap();
        store
            .put_profile("a@x.test", &fields(json!({"title": "Sr Engineer"})))
            .unwrap();
        let id = store
            .create_incident(&NewIncident {
                kind: "IAM - Update User",
                name: "a@x.test",
                fields: &Map::new(),
            })
            .unwrap()
            .id;
        store
            .set_incident_status(id, crate::store::IncidentStatus::Closed)
            .unwrap();
        store.delete_profile("a@x.test").unwrap();

        let log = store.audit_log(10).unwrap();
        let actions: Vec<(&str, &str)> = log
            .iter()
            .rev()
            .map(|e| (e.action.as_str(), e.actor.as_str()))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("profile.create", "cli"),
                ("profile.update", "playbook iam-update-user"),
                ("incident.create", "playbook iam-update-user"),
                ("incident.update", "playbook iam-update-user"),
                ("profile.delete", "playbook iam-update-user"),
            ]
        );
        let update = &log[3];
        assert_eq!(update.before["title"], "Engineer");
        assert_eq!(update.after["title"], "Sr Engineer");
        assert_eq!(log[1].before["status"], "pending");
        assert_eq!(log[1].after["status"], "closed");
    }

    /// On PostgreSQL the actor reaches the server with the next write, not when set.
    #[test]
    fn each_write_is_logged_under_the_actor_set_last_before_it() {
        let store = Store::open_in_memory().unwrap();
        let put = |title: &str| {
            store
                .put_profile("a@x.test", &fields(json!({"title": title})))
                .unwrap();
        };
        store.act_as("first").unwrap();
        put("1");
        store.act_as("second").unwrap();
        assert!(store.profile("a@x.test").unwrap().is_some());
        store.act_as("third").unwrap();
        put("2");
        // A pooled handle is set back to the default when it is returned.
        store.act_as(super::DEFAULT_ACTOR).unwrap();
        assert!(store.profile("a@x.test").unwrap().is_some());
        put("3");
        store.act_as("fourth").unwrap();
        store.delete_profile("a@x.test").unwrap();

        let actors: Vec<String> = store
            .audit_log(10)
            .unwrap()
            .into_iter()
            .rev()
            .map(|e| e.actor)
            .collect();
        assert_eq!(actors, ["first", "third", "cli", "fourth"]);
    }

    #[test]
    fn writes_that_change_nothing_visible_are_not_logged() {
        let store = Store::open_in_memory().unwrap();
        let id = store
            .create_incident(&NewIncident {
                kind: "T",
                name: "n",
                fields: &Map::new(),
            })
            .unwrap()
            .id;
        let before = store.audit_log(10).unwrap().len();
        store
            .set_incident_context(id, &fields(json!({"SuccessfulVendors": ["a"]})))
            .unwrap();
        assert_eq!(store.audit_log(10).unwrap().len(), before);
    }
}
