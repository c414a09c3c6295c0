//! What reinstalling a plugin changes that an administrator must see before it takes
//! effect: the hosts it may reach, its credentials and where they go, its LDAP directory,
//! its version, its commands (and which are sensitive), parameters and WASI imports. No change listed
//! means the two manifests agree on every one of these.

use super::manifest::{Credentials, Manifest, Param};

/// One item that the new manifest drops or adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Removed { aspect: &'static str, item: String },
    Added { aspect: &'static str, item: String },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Removed { aspect, item } => write!(f, "{aspect}: - {item}"),
            Change::Added { aspect, item } => write!(f, "{aspect}: + {item}"),
        }
    }
}

/// An aspect's name and how to list a manifest's items of it.
type Aspect = (&'static str, fn(&Manifest) -> Vec<String>);

/// What changes from `installed` to `new`, aspect by aspect.
pub fn changes(installed: &Manifest, new: &Manifest) -> Vec<Change> {
    let aspects: [Aspect; 7] = [
        ("version", |m| vec![m.version.clone()]),
        ("hosts", |m| m.hosts.clone()),
        ("credentials", credentials),
        ("ldap", ldap),
        ("commands", |m| {
            m.commands
                .iter()
                .map(|c| match c.sensitive {
                    true => format!("{} (sensitive)", c.name),
                    false => c.name.clone(),
                })
                .collect()
        }),
        ("parameters", |m| m.params.iter().map(param).collect()),
        ("wasi imports", |m| m.wasi_imports().to_vec()),
    ];
    let mut out = Vec::new();
    for (aspect, describe) in aspects {
        let (before, after) = (describe(installed), describe(new));
        out.extend(
            before
                .iter()
                .filter(|item| !after.contains(item))
                .map(|item| Change::Removed {
                    aspect,
                    item: item.clone(),
                }),
        );
        out.extend(
            after
                .iter()
                .filter(|item| !before.contains(item))
                .map(|item| Change::Added {
                    aspect,
                    item: item.clone(),
                }),
        );
    }
    out
}

/// The credentials as parameter names (never values) and the hosts they go to.
fn credentials(m: &Manifest) -> Vec<String> {
    let Some(creds) = &m.credentials else {
        return Vec::new();
    };
    let kind = match creds {
        Credentials::Bearer { token, .. } => format!("bearer {{{token}}}"),
        Credentials::Basic {
            username, password, ..
        } => format!("basic {{{username}}}:{{{password}}}"),
        Credentials::Header { header, value, .. } => format!("header {header}: {value}"),
    };
    vec![format!("{kind} to {}", m.credential_hosts().join(", "))]
}

fn ldap(m: &Manifest) -> Vec<String> {
    m.ldap
        .iter()
        .map(|l| {
            format!(
                "url {{{}}}, bind as {{{}}} with {{{}}}, ca-file {}, allow-plain {}",
                l.url,
                l.bind_dn,
                l.password,
                l.ca_file.as_deref().unwrap_or("-"),
                l.allow_plain.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

fn param(p: &Param) -> String {
    let mut text = format!("{} ({:?}", p.name, p.kind).to_lowercase();
    if p.secret {
        text.push_str(", secret");
    }
    if p.required {
        text.push_str(", required");
    }
    text.push(')');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(extra: &str) -> Manifest {
        let text = format!(
            "name = \"x\"\nbrand = \"X\"\nversion = \"1.0.0\"\nwit = \"0.1.0\"\n{extra}\n\
             [credentials]\nkind = \"bearer\"\ntoken = \"token\"\n\
             [[params]]\nname = \"token\"\nsecret = true\n[[params]]\nname = \"url\"\ntype = \"url\"\n"
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn the_same_manifest_changes_nothing() {
        let m = manifest("hosts = [\"{url}\"]");
        assert!(changes(&m, &m).is_empty());
    }

    #[test]
    fn a_new_host_moved_credentials_and_a_new_version_are_listed() {
        let old = manifest("hosts = [\"{url}\"]");
        let mut new = manifest("hosts = [\"https://evil.test\"]");
        new.version = "1.1.0".into();
        let lines: Vec<String> = changes(&old, &new).iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "version: - 1.0.0",
                "version: + 1.1.0",
                "hosts: - {url}",
                "hosts: + https://evil.test",
                "credentials: - bearer {token} to {url}",
                "credentials: + bearer {token} to https://evil.test",
            ]
        );
    }

    #[test]
    fn a_command_no_longer_sensitive_is_listed() {
        let command = |extra: &str| {
            manifest(&format!(
                "hosts = [\"{{url}}\"]\n[[commands]]\nname = \"set-password\"\n{extra}"
            ))
        };
        let lines: Vec<String> = changes(&command("sensitive = true"), &command(""))
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            lines,
            vec![
                "commands: - set-password (sensitive)",
                "commands: + set-password",
            ]
        );
    }

    #[test]
    fn a_new_wasi_import_is_listed() {
        let wasi = |imports: &str| {
            manifest(&format!(
                "hosts = [\"{{url}}\"]\n[wasi]\nimports = [{imports}]"
            ))
        };
        let lines: Vec<String> = changes(
            &wasi("\"wasi:cli/stderr\""),
            &wasi("\"wasi:cli/stderr\", \"wasi:sockets/tcp\""),
        )
        .iter()
        .map(|c| c.to_string())
        .collect();
        assert_eq!(lines, vec!["wasi imports: + wasi:sockets/tcp"]);
    }
}
