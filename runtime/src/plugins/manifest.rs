//! The plugin manifest (`<name>.toml` beside `<name>.wasm`): what a plugin is, which
//! commands and parameters it has, which hosts it may call, how the host adds its
//! credentials, and which parameters name its LDAP directory.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// WIT package versions this host can load.
pub const SUPPORTED_WIT_VERSIONS: &[&str] = &["0.1.0"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub brand: String,
    pub version: String,
    /// The WIT package version the component was built against.
    pub wit: String,
    #[serde(default)]
    pub description: String,
    /// Allow-list entries; `{param}` stands for the origin of that URL parameter.
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub credentials: Option<Credentials>,
    /// The directory the host connects to for the plugin's `ldap` import; without it every
    /// `ldap` call fails.
    #[serde(default)]
    pub ldap: Option<LdapSpec>,
    /// The WASI 0.2 interfaces the component imports. The host links them but grants
    /// nothing through them (no files, environment, sockets); it refuses a component that
    /// imports one not listed here.
    #[serde(default)]
    pub wasi: Option<WasiSpec>,
    #[serde(default)]
    pub params: Vec<Param>,
    #[serde(default)]
    pub commands: Vec<CommandSpec>,
    /// What kind of fetch source the plugin is, if any.
    #[serde(default)]
    pub source: Option<SourceKind>,
    /// How the host requests a report itself, so the body streams through the host's
    /// parser and never passes through the plugin. A report source without it returns the
    /// whole body from its `fetch`.
    #[serde(default)]
    pub report: Option<ReportRequest>,
    /// Vendor error codes the host's IAM algorithm treats specially.
    #[serde(default)]
    pub iam: crate::iam::VendorCodes,
}

/// How `ilm fetch` reads a source plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// An HR report: the whole population in one record, compared row by row with the
    /// stored profiles (Workday).
    Report,
    /// An event log read page by page with a durable cursor, each event classified on its
    /// own (Okta's System Log).
    Events,
}

/// How the host authenticates the plugin's outbound requests with secret parameters.
/// `hosts` names the entries of the manifest's `hosts` the credentials go to; by default
/// the first `{param}` entry (the instance's own URL), else the first entry. Other allowed
/// hosts, and those an administrator adds, get requests without credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Credentials {
    /// `Authorization: Bearer <token param>`.
    Bearer {
        token: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<String>,
    },
    /// HTTP Basic with two parameters.
    Basic {
        username: String,
        password: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<String>,
    },
    /// A header whose value is a template, e.g. `SSWS {token}`.
    Header {
        header: String,
        value: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<String>,
    },
}

/// Which of the plugin's parameters describe its LDAP server. Like `[credentials]`, it
/// names parameters: the instance gives the values, and the host alone reads the secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LdapSpec {
    /// A `url` parameter: `ldaps://host[:port]` or `ldap://host[:port]` (StartTLS).
    pub url: String,
    /// The parameter holding the DN (or `user@domain`) the host binds as.
    pub bind_dn: String,
    /// The secret parameter holding the bind password.
    pub password: String,
    /// An optional parameter naming a PEM file of CA certificates to verify the server
    /// with (the system's roots when unset).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// An optional `bool` parameter that, when true, lets an `ldap://` URL run without
    /// StartTLS. Without it, or when false, the host never talks to a directory in clear.
    #[serde(default)]
    pub allow_plain: Option<String>,
}

/// `[report]`: the request that fetches a report. `{param}` in the URL stands for that
/// parameter's value; the host adds the instance's credentials and applies its allow-list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub url: String,
    #[serde(default = "default_report_method")]
    pub method: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

fn default_report_method() -> String {
    "GET".to_owned()
}

/// `[wasi] imports = ["wasi:cli/stderr", ...]`: interface names without their version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasiSpec {
    pub imports: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Url,
    Bool,
    Int,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    #[serde(rename = "type", default = "default_param_type")]
    pub kind: ParamType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub default: Option<String>,
    /// A documented example value (never used as a value), shown by `ilm plugin show`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    #[serde(default)]
    pub help: String,
}

fn default_param_type() -> ParamType {
    ParamType::String
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub name: String,
    #[serde(default)]
    pub help: String,
    /// The command takes or returns a secret (a password it sets, a token it issues): a
    /// playbook's journal keeps only which command ran where, and seals its result.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    #[serde(default)]
    pub args: Vec<ArgSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgSpec {
    pub name: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub help: String,
    /// When set, the argument is a JSON array of objects (or the text of one) whose field
    /// of this name must name an existing instance; the host checks before the call.
    #[serde(default)]
    pub instances: Option<String>,
}

/// Parameters the host itself gives every IAM instance, on top of the plugin's.
pub fn iam_params() -> Vec<Param> {
    let flag = |name: &str, help: &str| Param {
        name: name.to_owned(),
        kind: ParamType::Bool,
        required: false,
        secret: false,
        default: Some("true".to_owned()),
        example: None,
        help: help.to_owned(),
    };
    vec![
        flag(
            "create-user-enabled",
            "If false, iam-create-user is skipped (\"Command is disabled.\").",
        ),
        flag(
            "update-user-enabled",
            "If false, iam-update-user is skipped (\"Command is disabled.\").",
        ),
        flag("enable-user-enabled", "If false, allow-enable is ignored."),
        flag(
            "disable-user-enabled",
            "If false, iam-disable-user is skipped (\"Command is disabled.\").",
        ),
        flag(
            "create-if-not-exists",
            "iam-update-user on a missing user creates it.",
        ),
        Param {
            name: "mapper".to_owned(),
            kind: ParamType::String,
            required: false,
            secret: false,
            default: None,
            example: None,
            help:
                "Mapper script in playbooks/mappers/ (without .rhai); defaults to the plugin name."
                    .to_owned(),
        },
    ]
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the plugin manifest {}", path.display()))?;
        let manifest: Manifest = toml::from_str(&text)
            .with_context(|| format!("the plugin manifest {} is not valid", path.display()))?;
        manifest
            .check()
            .with_context(|| format!("the plugin manifest {} is not valid", path.display()))?;
        Ok(manifest)
    }

    fn check(&self) -> Result<()> {
        if !SUPPORTED_WIT_VERSIONS.contains(&self.wit.as_str()) {
            bail!(
                "plugin {:?} was built against WIT ilm:plugin@{}, which this host does not support (supported: {})",
                self.name,
                self.wit,
                SUPPORTED_WIT_VERSIONS.join(", ")
            );
        }
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!(
                "plugin name {:?} must be letters, digits, '-' or '_'",
                self.name
            );
        }
        let mut seen = std::collections::HashSet::new();
        for param in self.params.iter().chain(iam_params().iter()) {
            if !seen.insert(param.name.as_str()) {
                bail!(
                    "parameter {:?} is declared twice (or clashes with a host IAM parameter)",
                    param.name
                );
            }
        }
        if let Some(creds) = &self.credentials {
            for name in creds.param_names() {
                match self.param(&name) {
                    Some(p) if p.secret => {}
                    Some(_) => bail!("credential parameter {name:?} must be declared secret"),
                    None => bail!("credential parameter {name:?} is not declared in [[params]]"),
                }
            }
            if let Some(stray) = creds.hosts().iter().find(|h| !self.hosts.contains(h)) {
                bail!(
                    "[credentials] hosts names {stray:?}, which is not one of the plugin's hosts ({})",
                    self.hosts.join(", ")
                );
            }
            if self.credential_hosts().is_empty() {
                bail!("[credentials] has no host to go to: list the app's host in `hosts`");
            }
        }
        if let Some(ldap) = &self.ldap {
            self.check_ldap(ldap)?;
        }
        if let Some(unknown) = self
            .wasi_imports()
            .iter()
            .find(|name| !super::wasi::PROVIDED.contains(&name.as_str()))
        {
            bail!(
                "[wasi] imports names {unknown:?}, which is not a WASI 0.2 interface this host provides \
                 (write names without a version; provided: {})",
                super::wasi::PROVIDED.join(", ")
            );
        }
        Ok(())
    }

    /// The WASI interfaces the manifest declares (none without a `[wasi]` section).
    pub fn wasi_imports(&self) -> &[String] {
        self.wasi.as_ref().map_or(&[], |w| w.imports.as_slice())
    }

    fn check_ldap(&self, ldap: &LdapSpec) -> Result<()> {
        let declared = |name: &str, role: &str| {
            self.param(name).with_context(|| {
                format!("[ldap] {role} names the parameter {name:?}, which is not declared in [[params]]")
            })
        };
        let url = declared(&ldap.url, "url")?;
        if url.kind != ParamType::Url {
            bail!(
                "[ldap] url parameter {:?} must have type = \"url\"",
                url.name
            );
        }
        declared(&ldap.bind_dn, "bind-dn")?;
        if !declared(&ldap.password, "password")?.secret {
            bail!(
                "[ldap] password parameter {:?} must be declared secret",
                ldap.password
            );
        }
        if let Some(name) = &ldap.ca_file {
            declared(name, "ca-file")?;
        }
        if let Some(name) = &ldap.allow_plain {
            if declared(name, "allow-plain")?.kind != ParamType::Bool {
                bail!("[ldap] allow-plain parameter {name:?} must have type = \"bool\"");
            }
        }
        Ok(())
    }

    /// A parameter declared by the plugin or given by the host.
    pub fn param(&self, name: &str) -> Option<Param> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .or_else(|| iam_params().into_iter().find(|p| p.name == name))
    }

    /// Every parameter an instance of this plugin takes: the plugin's, then the host's.
    pub fn all_params(&self) -> Vec<Param> {
        self.params.iter().cloned().chain(iam_params()).collect()
    }

    pub fn command(&self, name: &str) -> Option<&CommandSpec> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// The entries of `hosts` the credentials go to (see [`Credentials`]); none without
    /// credentials.
    pub fn credential_hosts(&self) -> Vec<&str> {
        let Some(creds) = &self.credentials else {
            return Vec::new();
        };
        if !creds.hosts().is_empty() {
            return creds.hosts().iter().map(String::as_str).collect();
        }
        self.hosts
            .iter()
            .find(|h| template_params(h).len() == 1)
            .or_else(|| self.hosts.first())
            .map(|h| vec![h.as_str()])
            .unwrap_or_default()
    }
}

impl Credentials {
    /// The secret parameters this credential reads.
    pub fn param_names(&self) -> Vec<String> {
        match self {
            Credentials::Bearer { token, .. } => vec![token.clone()],
            Credentials::Basic {
                username, password, ..
            } => vec![username.clone(), password.clone()],
            Credentials::Header { value, .. } => template_params(value),
        }
    }

    /// The hosts the manifest names for these credentials (empty: the default).
    pub fn hosts(&self) -> &[String] {
        match self {
            Credentials::Bearer { hosts, .. }
            | Credentials::Basic { hosts, .. }
            | Credentials::Header { hosts, .. } => hosts,
        }
    }
}

/// The `{name}` placeholders in a template, in order.
pub fn template_params(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        names.push(rest[start + 1..start + len].to_owned());
        rest = &rest[start + len + 1..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest> {
        let m: Manifest = toml::from_str(text)?;
        m.check()?;
        Ok(m)
    }

    const BASE: &str = r#"
name = "x"
brand = "X"
version = "1.0.0"
wit = "0.1.0"
"#;

    #[test]
    fn unknown_wit_version_is_refused_with_the_version_named() {
        let err = parse(&BASE.replace("0.1.0", "9.9.9"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ilm:plugin@9.9.9"), "{err}");
        assert!(err.contains("supported: 0.1.0"), "{err}");
    }

    #[test]
    fn credentials_must_name_a_secret_param() {
        let text = format!(
            "{BASE}hosts = [\"https://x.test\"]\n[credentials]\nkind = \"bearer\"\ntoken = \"token\"\n[[params]]\nname = \"token\"\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("must be declared secret"), "{err}");
        let ok = text.replace("name = \"token\"\n", "name = \"token\"\nsecret = true\n");
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn credentials_go_to_the_first_url_host_unless_the_manifest_names_others() {
        let creds = "[credentials]\nkind = \"bearer\"\ntoken = \"token\"\n";
        let token = "[[params]]\nname = \"token\"\nsecret = true\n";
        let hosts = "hosts = [\"https://login.x.test\", \"{url}\", \"{other}\"]\n";
        let m = parse(&format!("{BASE}{hosts}{creds}{token}")).unwrap();
        assert_eq!(m.credential_hosts(), vec!["{url}"]);

        let fixed = "hosts = [\"https://api.x.test\", \"https://cdn.x.test\"]\n";
        let m = parse(&format!("{BASE}{fixed}{creds}{token}")).unwrap();
        assert_eq!(m.credential_hosts(), vec!["https://api.x.test"]);

        let named = creds.replace("token\"\n", "token\"\nhosts = [\"https://login.x.test\"]\n");
        let m = parse(&format!("{BASE}{hosts}{named}{token}")).unwrap();
        assert_eq!(m.credential_hosts(), vec!["https://login.x.test"]);

        let stray = creds.replace("token\"\n", "token\"\nhosts = [\"https://evil.test\"]\n");
        let err = parse(&format!("{BASE}{hosts}{stray}{token}")).unwrap_err();
        assert!(
            err.to_string().contains("not one of the plugin's hosts"),
            "{err}"
        );
        let err = parse(&format!("{BASE}{creds}{token}")).unwrap_err();
        assert!(err.to_string().contains("no host to go to"), "{err}");
    }

    #[test]
    fn a_param_clashing_with_a_host_iam_param_is_refused() {
        let text = format!("{BASE}[[params]]\nname = \"create-user-enabled\"\n");
        assert!(parse(&text)
            .unwrap_err()
            .to_string()
            .contains("declared twice"));
    }

    const LDAP: &str = r#"
[ldap]
url = "url"
bind-dn = "bind-dn"
password = "bind-password"
ca-file = "ca-file"
allow-plain = "insecure"

[[params]]
name = "url"
type = "url"

[[params]]
name = "bind-dn"

[[params]]
name = "bind-password"
secret = true

[[params]]
name = "ca-file"

[[params]]
name = "insecure"
type = "bool"
"#;

    #[test]
    fn an_ldap_section_names_declared_params_with_a_secret_password() {
        let ok = parse(&format!("{BASE}{LDAP}")).expect("a valid [ldap] section");
        let ldap = ok.ldap.expect("the [ldap] section");
        assert_eq!(
            (ldap.url.as_str(), ldap.password.as_str()),
            ("url", "bind-password")
        );
        assert_eq!(ldap.allow_plain.as_deref(), Some("insecure"));

        let cases = [
            ("secret = true\n", "\n", "must be declared secret"),
            (
                "type = \"url\"",
                "type = \"string\"",
                "must have type = \"url\"",
            ),
            (
                "type = \"bool\"",
                "type = \"string\"",
                "must have type = \"bool\"",
            ),
            (
                "ca-file = \"ca-file\"",
                "ca-file = \"nope\"",
                "\"nope\", which is not declared",
            ),
        ];
        for (from, to, expected) in cases {
            let text = format!("{BASE}{}", LDAP.replace(from, to));
            let err = format!("{:#}", parse(&text).expect_err(expected));
            assert!(err.contains(expected), "{expected}: {err}");
        }
        let unknown = format!("{BASE}{}", LDAP.replace("[ldap]\n", "[ldap]\nport = 1\n"));
        assert!(parse(&unknown).is_err());
    }

    #[test]
    fn wasi_imports_must_be_provided_interfaces_without_a_version() {
        let m = parse(&format!("{BASE}[wasi]\nimports = [\"wasi:cli/stderr\"]\n")).unwrap();
        assert_eq!(m.wasi_imports(), ["wasi:cli/stderr"]);
        for bad in ["wasi:cli/stderr@0.2.6", "wasi:http/types"] {
            let text = format!("{BASE}[wasi]\nimports = [\"{bad}\"]\n");
            let err = parse(&text).unwrap_err().to_string();
            assert!(
                err.contains(bad) && err.contains("without a version"),
                "{err}"
            );
        }
    }

    #[test]
    fn template_params_are_found() {
        assert_eq!(template_params("SSWS {token} {x}"), vec!["token", "x"]);
        assert!(template_params("plain").is_empty());
    }
}
