//! Running commands on configured instances: resolves an instance to its plugin, settings
//! and mapper, runs the IAM algorithm or a plugin command, and keeps the instance's
//! integration context.

use crate::fan_out;
use crate::iam::{self, Command};
use crate::mappers::MapperCache;
use crate::plugins::manifest::template_params;
use crate::plugins::net::OutboundRequest;
use crate::plugins::{Host, InstanceSettings, LoadedPlugin, WasmApp};
use crate::store::{Instance, Store};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// An instance ready to call: its record, its plugin and the settings a call gets.
type Prepared = (Instance, Arc<LoadedPlugin>, InstanceSettings);

pub struct Integrations<'a> {
    pub store: &'a Store,
    pub host: &'a Host,
    pub mappers: &'a MapperCache,
}

impl<'a> Integrations<'a> {
    /// The stored instance, or an error naming the known ones.
    pub fn instance(&self, name: &str) -> Result<Instance> {
        self.store
            .instance(name)?
            .ok_or_else(|| self.no_such_instance(name))
    }

    fn no_such_instance(&self, name: &str) -> anyhow::Error {
        match self.instance_names() {
            Ok(known) => anyhow::anyhow!(
                "no instance named {name:?} (configured: {}); add one with `ilm instance add`",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
            Err(err) => err.context(format!("no instance named {name:?}")),
        }
    }

    fn instance_names(&self) -> Result<Vec<String>> {
        Ok(self
            .store
            .instances()?
            .into_iter()
            .map(|i| i.name)
            .collect())
    }

    /// An enabled instance's plugin and call settings.
    fn prepare(&self, name: &str) -> Result<Prepared> {
        self.prepare_each(&[name])?
            .pop()
            .unwrap_or_else(|| Err(self.no_such_instance(name)))
    }

    /// What [`Self::prepare`] gives for each of `names`, read from the store at once (a
    /// command on eight apps is one read, not sixteen).
    fn prepare_each(&self, names: &[&str]) -> Result<Vec<Result<Prepared>>> {
        let stored: HashMap<String, (Instance, String)> = self
            .store
            .instances_with_context(names)?
            .into_iter()
            .map(|(instance, context)| (instance.name.clone(), (instance, context)))
            .collect();
        Ok(names
            .iter()
            .map(|name| match stored.get(*name) {
                Some((instance, context)) => self.settle(instance.clone(), context.clone()),
                None => Err(self.no_such_instance(name)),
            })
            .collect())
    }

    fn settle(&self, instance: Instance, context: String) -> Result<Prepared> {
        let name = &instance.name;
        if !instance.enabled {
            bail!("instance {name:?} is disabled");
        }
        let plugin = self
            .host
            .plugin(&instance.plugin)
            .with_context(|| format!("instance {name:?}"))?;
        let settings = InstanceSettings::new(&plugin.manifest, &instance, context)
            .with_context(|| format!("instance {name:?} is misconfigured"))?;
        Ok((instance, plugin, settings))
    }

    fn app(&self, name: &str, command: &str) -> Result<(WasmApp<'a>, Instance)> {
        let (instance, plugin, settings) = self.prepare(name)?;
        Ok((WasmApp::new(self.host, plugin, settings, command), instance))
    }

    fn keep_context(&self, app: &WasmApp) -> Result<()> {
        if let Some(context) = &app.changed_context {
            self.store
                .set_integration_context(&app.settings().name, context)?;
        }
        Ok(())
    }

    /// Runs an IAM command on one instance. Only a configuration problem is an error; what
    /// the app or plugin does wrong is in the vendor result.
    pub fn iam(
        &self,
        name: &str,
        command: Command,
        profile: &Value,
        allow_enable: bool,
        before_create: iam::BeforeCreate,
    ) -> Result<iam::Outcome> {
        let mut call = self.prepare_iam(name, command, profile)?;
        let outcome = call.execute(command, profile, allow_enable, before_create);
        self.keep_context(&call.app)?;
        Ok(outcome)
    }

    /// Runs an IAM command on each of `names` at once (see [`fan_out`]). The store is
    /// read before and written after, on this thread; the results come in the order of
    /// `names`. `before_create`: what a create knows of each instance's account.
    pub fn iam_each(
        &self,
        names: &[String],
        command: Command,
        profile: &Value,
        allow_enable: bool,
        before_create: &dyn Fn(&str) -> iam::BeforeCreate,
    ) -> Vec<Result<iam::Outcome>> {
        // One instance named twice must see its own first call's context: in turn, then.
        let distinct: HashSet<&String> = names.iter().collect();
        if distinct.len() < names.len() {
            return names
                .iter()
                .map(|name| self.iam(name, command, profile, allow_enable, before_create(name)))
                .collect();
        }
        let named: Vec<&str> = names.iter().map(String::as_str).collect();
        let prepared = match self.prepare_each(&named) {
            Ok(prepared) => prepared,
            Err(err) => {
                let err = format!("{err:#}");
                return names
                    .iter()
                    .map(|_| Err(anyhow::anyhow!("{err}")))
                    .collect();
            }
        };
        let calls: Vec<_> = prepared
            .into_iter()
            .zip(names)
            .map(|(prepared, name)| {
                (
                    self.iam_call(prepared, command, profile),
                    before_create(name),
                )
            })
            .collect();
        let done = fan_out::each(calls, |(call, before_create)| {
            call.map(|mut call| {
                let outcome = call.execute(command, profile, allow_enable, before_create);
                (outcome, call)
            })
        });
        done.into_iter()
            .zip(names)
            .map(|(done, name)| {
                let (outcome, call) = done.with_context(|| {
                    format!(
                        "the {} call on instance {name:?} failed inside the runtime (see the log); run the incident again",
                        command.name()
                    )
                })??;
                self.keep_context(&call.app)?;
                Ok(outcome)
            })
            .collect()
    }

    /// What an IAM command on `name` needs from the store and the script caches.
    fn prepare_iam(&self, name: &str, command: Command, profile: &Value) -> Result<IamCall<'a>> {
        self.iam_call(self.prepare(name), command, profile)
    }

    fn iam_call(
        &self,
        prepared: Result<Prepared>,
        command: Command,
        profile: &Value,
    ) -> Result<IamCall<'a>> {
        if !profile.is_object() {
            bail!("user-profile must be a JSON object");
        }
        let (instance, plugin, settings) = prepared?;
        let mapper = self.mapper_of(&instance, &settings)?;
        let app = WasmApp::new(self.host, plugin.clone(), settings, command.name());
        Ok(IamCall {
            app,
            mapper,
            plugin,
        })
    }

    /// The instance's mapper: its `mapper` parameter, else the one named after its plugin.
    fn mapper_of(
        &self,
        instance: &Instance,
        settings: &InstanceSettings,
    ) -> Result<crate::mappers::ScriptMapper> {
        let mapper_name = settings.param_str("mapper").unwrap_or(&instance.plugin);
        self.mappers
            .get(mapper_name)
            .with_context(|| format!("instance {:?}", instance.name))
    }

    /// An app's user object read into user profile fields by the instance's incoming map.
    pub fn incoming_profile(
        &self,
        name: &str,
        app_user: &Value,
    ) -> Result<serde_json::Map<String, Value>> {
        let (instance, _, settings) = self.prepare(name)?;
        let mapper = self.mapper_of(&instance, &settings)?;
        mapper
            .incoming_checked(app_user)
            .with_context(|| format!("the incoming map of instance {name:?}"))
    }

    /// A user profile mapped by the instance's outgoing map, as an update sends it: the
    /// fields the host looks a user up by.
    pub fn outgoing_profile(
        &self,
        name: &str,
        profile: &Value,
    ) -> Result<serde_json::Map<String, Value>> {
        use crate::iam::Mapper as _;
        let (instance, _, settings) = self.prepare(name)?;
        let mapper = self.mapper_of(&instance, &settings)?;
        mapper
            .outgoing(profile, crate::iam::MappingType::Update)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("the outgoing map of instance {name:?}"))
    }

    /// Runs a plugin-specific command; returns its JSON output.
    /// Whether plugin command `command` of instance `name` is declared sensitive in its
    /// manifest. A command that cannot be looked up (no such instance, plugin or command)
    /// counts as sensitive: its call fails anyway, and its arguments may hold a secret.
    pub fn command_is_sensitive(&self, name: &str, command: &str) -> bool {
        let declared = || -> Result<Option<bool>> {
            let plugin = self.host.plugin(&self.instance(name)?.plugin)?;
            Ok(plugin.manifest.command(command).map(|spec| spec.sensitive))
        };
        !matches!(declared(), Ok(Some(false)))
    }

    pub fn command(&self, name: &str, command: &str, args: &Value) -> Result<Value> {
        let (mut app, instance) = self.app(name, command)?;
        let plugin = self.host.plugin(&instance.plugin)?;
        let Some(spec) = plugin.manifest.command(command) else {
            let known: Vec<&str> = plugin
                .manifest
                .commands
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            bail!(
                "plugin {} has no command {command:?} (its commands: {}, and {})",
                plugin.manifest.name,
                known.join(", "),
                Command::NAMES.join(", ")
            );
        };
        for arg in spec.args.iter().filter(|a| a.required) {
            if args.get(&arg.name).is_none() {
                bail!("{command} needs the argument {:?}: {}", arg.name, arg.help);
            }
        }
        for arg in &spec.args {
            if let (Some(field), Some(value)) = (&arg.instances, args.get(&arg.name)) {
                self.check_instances_named(command, &arg.name, field, value)?;
            }
        }
        let result = app.run_command(command, args);
        self.keep_context(&app)?;
        match result? {
            Ok(text) => Ok(serde_json::from_str(&text).unwrap_or(Value::String(text))),
            Err(e) => bail!(
                "{command} on {name} failed: {} (code {})",
                e.message,
                e.code
            ),
        }
    }

    /// Checks that every row of argument `arg` (a JSON array, or the text of one) names an
    /// existing instance in its `field`, so a mapping to a typo is refused up front.
    fn check_instances_named(
        &self,
        command: &str,
        arg: &str,
        field: &str,
        value: &Value,
    ) -> Result<()> {
        let parsed;
        let rows = match value {
            Value::String(text) => {
                parsed = serde_json::from_str::<Value>(text)
                    .with_context(|| format!("{command}: {arg} is not JSON"))?;
                &parsed
            }
            other => other,
        };
        let Some(rows) = rows.as_array() else {
            bail!("{command}: {arg} must be a JSON array of objects with {field:?}");
        };
        let known = self.instance_names()?;
        for row in rows {
            let Some(name) = row.get(field).and_then(Value::as_str) else {
                bail!("{command}: every row of {arg} needs {field:?} (an instance name): {row}");
            };
            if !known.iter().any(|k| k == name) {
                bail!(
                    "{command}: {field} {name:?} is not an instance (instances: {}); add it with `ilm instance add` or fix the name",
                    known.join(", ")
                );
            }
        }
        Ok(())
    }

    /// The instance's plugin (for its manifest).
    pub fn plugin_of(&self, name: &str) -> Result<Arc<LoadedPlugin>> {
        let instance = self.instance(name)?;
        self.host
            .plugin(&instance.plugin)
            .with_context(|| format!("instance {name:?}"))
    }

    /// The instance's parameters with their defaults, as its plugin sees them.
    pub fn params(&self, name: &str) -> Result<serde_json::Map<String, Value>> {
        Ok(self.prepare(name)?.2.params)
    }

    /// How often `ilm run` fetches the source instance: its `fetch_interval_minutes`, or
    /// hourly.
    pub fn fetch_interval_minutes(&self, name: &str) -> Result<u64> {
        Ok(self
            .params(name)?
            .get("fetch_interval_minutes")
            .and_then(Value::as_u64)
            .unwrap_or(60))
    }

    /// One call of the instance's plugin's `fetch` with the host's `state` (see the WIT's
    /// `fetch` interface); returns the records and the plugin's next-state.
    pub fn fetch(&self, name: &str, state: &str) -> Result<(Vec<String>, String)> {
        let (mut app, _) = self.app(name, "fetch")?;
        let result = app.fetch(state);
        self.keep_context(&app)?;
        match result? {
            Ok(out) => Ok((out.records, out.next_state)),
            Err(e) => bail!(
                "fetching from {name} failed: {} (code {})",
                e.message,
                e.code
            ),
        }
    }

    /// Sends the request of the plugin's `[report]` section through the instance's network
    /// policy (allow-list, credentials, CA) and returns the response with its body unread.
    /// `None` when the plugin has no such section: its `fetch` returns the body instead.
    pub fn open_report(&self, name: &str) -> Result<Option<reqwest::blocking::Response>> {
        let (_, plugin, settings) = self.prepare(name)?;
        let Some(spec) = &plugin.manifest.report else {
            return Ok(None);
        };
        let url = expand_params(&spec.url, &settings.params)
            .with_context(|| format!("the [report] url of plugin {}", plugin.manifest.name))?;
        let request = OutboundRequest {
            method: spec.method.clone(),
            url,
            headers: spec.headers.clone(),
            body: None,
        };
        match settings.net.open(request) {
            Ok(response) => Ok(Some(response)),
            Err(e) => bail!(
                "fetching the report of {name} failed: {e} (code {})",
                e.code()
            ),
        }
    }

    /// Checks that the instance reaches its app.
    pub fn test(&self, name: &str) -> Result<()> {
        let (mut app, _) = self.app(name, "test-module")?;
        let result = app.test_connection();
        self.keep_context(&app)?;
        match result? {
            Ok(()) => Ok(()),
            Err(e) => bail!(
                "instance {name} cannot reach its app: {} (code {})",
                e.message,
                e.code
            ),
        }
    }
}

/// `template` with every `{param}` replaced by that parameter's value.
fn expand_params(template: &str, params: &serde_json::Map<String, Value>) -> Result<String> {
    let mut text = template.to_owned();
    for name in template_params(template) {
        let value = params
            .get(&name)
            .and_then(Value::as_str)
            .with_context(|| format!("parameter {name} has no value; set it on the instance"))?;
        text = text.replace(&format!("{{{name}}}"), value);
    }
    Ok(text)
}

/// An IAM command made ready on one instance: it runs without the store.
struct IamCall<'a> {
    app: WasmApp<'a>,
    mapper: crate::mappers::ScriptMapper,
    plugin: Arc<LoadedPlugin>,
}

impl IamCall<'_> {
    fn execute(
        &mut self,
        command: Command,
        profile: &Value,
        allow_enable: bool,
        before_create: iam::BeforeCreate,
    ) -> iam::Outcome {
        let settings = self.app.settings();
        let flags = iam::Flags {
            create_enabled: settings.flag("create-user-enabled"),
            update_enabled: settings.flag("update-user-enabled"),
            enable_enabled: settings.flag("enable-user-enabled"),
            disable_enabled: settings.flag("disable-user-enabled"),
            create_if_not_exists: settings.flag("create-if-not-exists"),
        };
        let request = iam::Request {
            command,
            profile,
            allow_enable,
            flags,
            codes: &self.plugin.manifest.iam,
            before_create,
        };
        iam::execute(&mut self.app, &self.mapper, &request)
    }
}
