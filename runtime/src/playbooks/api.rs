//! The host API a playbook script sees. Every call that reads or changes the world outside
//! the script goes through the journal, so a replay sees exactly what the first run saw.

use super::budget::{Budget, OverBudget, CALLS_TOKEN, TIME_TOKEN};
use super::journal::{Answer, Call, Journal, Privacy, Privacy::Public};
use super::{blame, is_token, question_mail, Services, HALT, SUSPEND};
use crate::iam::{self, VendorResult};
use crate::integrations::Integrations;
use crate::mail::{recipients, Mail};
use crate::store::REDACTED;
use crate::store::{
    Incident, IncidentFilter, IncidentStatus, PageRequest, PooledStore, ProfileFilter, Store,
};
use anyhow::{anyhow, bail, Context, Result};
use rhai::{Dynamic, Engine, EvalAltResult, NativeCallContext, Position, Scope, AST};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

type Fallible = Result<Dynamic, Box<EvalAltResult>>;

/// The mutable side of one run.
pub struct State {
    pub services: Arc<Services>,
    pub store: PooledStore,
    pub incident: Incident,
    journal: Journal,
    pub pending_question: Option<String>,
    pub halt_message: Option<String>,
    /// The failure of the innermost script that failed (a sub-playbook, hook,
    /// transformer or mapper), which the run's failure names.
    pub fault: Option<String>,
    /// The run's budget, to explain a spent one.
    pub budget: Budget,
    /// The innermost sub-playbook, and its line, running when the budget ran out.
    pub budget_spent_in: Option<String>,
}

/// What a journaled call may use.
struct Ctx<'a> {
    store: &'a Store,
    services: &'a Services,
    incident: &'a Incident,
    call: Call,
}

impl Ctx<'_> {
    fn integrations(&self) -> Integrations<'_> {
        Integrations {
            store: self.store,
            host: &self.services.host,
            mappers: &self.services.mappers,
        }
    }
}

pub struct Run {
    engine: Engine,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn to_dyn(value: &Value) -> Fallible {
    rhai::serde::to_dynamic(value)
}

fn from_dyn(value: &Dynamic) -> Result<Value> {
    rhai::serde::from_dynamic(value).map_err(|e| anyhow!("{e}"))
}

fn script_error(err: anyhow::Error) -> Box<EvalAltResult> {
    format!("{err:#}").into()
}

fn terminate(token: &str) -> Box<EvalAltResult> {
    EvalAltResult::ErrorTerminated(Dynamic::from(token.to_owned()), Position::NONE).into()
}

/// Runs `act` through the journal and hands its result to the script.
fn journaled(
    state: &Mutex<State>,
    call: &str,
    args: Value,
    privacy: Privacy,
    act: impl FnOnce(Ctx) -> Result<Value>,
) -> Fallible {
    to_dyn(&journaled_value(state, call, args, privacy, act)?)
}

/// Runs `act` through the journal; a spent budget ends the run.
fn journaled_value(
    state: &Mutex<State>,
    call: &str,
    args: Value,
    privacy: Privacy,
    act: impl FnOnce(Ctx) -> Result<Value>,
) -> Result<Value, Box<EvalAltResult>> {
    let mut guard = lock(state);
    let State {
        journal,
        store,
        services,
        incident,
        fault,
        ..
    } = &mut *guard;
    journal
        .step(store, call, &args, privacy, |call| {
            act(Ctx {
                store,
                services,
                incident,
                call,
            })
        })
        .map_err(|err| journal_error(fault, err))
}

/// A journaled call's error for Rhai: a spent budget ends the run.
fn journal_error(fault: &mut Option<String>, err: anyhow::Error) -> Box<EvalAltResult> {
    match err.downcast_ref::<OverBudget>() {
        Some(OverBudget(token)) => terminate(token),
        None => blame::host_error(fault, err),
    }
}

/// `using` may be one instance name or an array of them.
fn instance_names(using: &Dynamic) -> Result<Vec<String>> {
    match from_dyn(using)? {
        Value::String(name) => Ok(vec![name]),
        Value::Array(items) => items
            .into_iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("`using` must list instance names"))
            })
            .collect(),
        other => bail!("`using` must be an instance name or an array of them, not {other}"),
    }
}

/// The instances an IAM call acts on: named by the script, or every enabled one of a brand.
enum Targets {
    Named(Vec<String>),
    Brand(String),
}

impl Targets {
    fn resolve(&self, ctx: &Ctx) -> Result<Vec<String>> {
        match self {
            Targets::Named(names) => Ok(names.clone()),
            Targets::Brand(brand) => enabled_instances(ctx, Some(brand)),
        }
    }
}

/// Runs an IAM command through the journal. A create is preceded by a journaled lookup of
/// the instances where the user does not exist yet: if the runtime stops after the create
/// acted and before it was recorded, the repeat finds the account, and the lookup tells
/// the account this incident made (absent before its create) from one that was there
/// before (a rehire, someone else's). The repeat then reports the create the first try
/// made, so the playbook goes on as it would have (sets and mails the password). The first
/// try creates where the lookup found nobody without looking again.
fn iam_journaled(
    state: &Mutex<State>,
    command: &str,
    targets: Targets,
    args: Value,
    profile: &Value,
    allow_enable: bool,
) -> Fallible {
    let absent: Vec<String> = match command {
        "iam-create-user" => {
            let absent = journaled_value(state, "iam.absent", args.clone(), Public, |ctx| {
                let using = targets.resolve(&ctx)?;
                Ok(json!(absent_users(&ctx, &using, profile)))
            })?;
            serde_json::from_value(absent).map_err(|e| script_error(e.into()))?
        }
        _ => Vec::new(),
    };
    journaled(state, "iam", args, Public, |ctx| {
        let using = targets.resolve(&ctx)?;
        let interrupted = ctx.call.repeat;
        let before_create = |name: &str| iam::BeforeCreate::of(name, &absent, interrupted);
        run_iam(ctx, command, &using, profile, allow_enable, &before_create)
    })
}

/// The instances among `using` that answer that the user of `profile` does not exist.
fn absent_users(ctx: &Ctx, using: &[String], profile: &Value) -> Vec<String> {
    let found = ctx
        .integrations()
        .iam_each(using, iam::Command::GetUser, profile, false, &|_| {
            iam::BeforeCreate::Unknown
        });
    using
        .iter()
        .zip(found)
        .filter(|(_, found)| {
            found.as_ref().is_ok_and(|found| {
                !found.vendor.success && found.vendor.error_code.as_deref() == Some("404")
            })
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// `before_create`: what a create knows of each instance's account.
fn run_iam(
    ctx: Ctx,
    command: &str,
    using: &[String],
    profile: &Value,
    allow_enable: bool,
    before_create: &dyn Fn(&str) -> iam::BeforeCreate,
) -> Result<Value> {
    let command = iam::Command::parse(command)
        .with_context(|| format!("{command:?} is not an IAM command"))?;
    let results: Vec<VendorResult> = ctx
        .integrations()
        .iam_each(using, command, profile, allow_enable, before_create)
        .into_iter()
        .zip(using)
        .map(|(outcome, name)| match outcome {
            Ok(outcome) => outcome.vendor,
            // A misconfigured instance fails that vendor, not the playbook.
            Err(err) => VendorResult::new("", name, command.name(), String::new())
                .failure("config", format!("{err:#}")),
        })
        .collect();
    Ok(serde_json::to_value(results)?)
}

fn enabled_instances(ctx: &Ctx, brand: Option<&str>) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for record in ctx.store.instances()?.into_iter().filter(|i| i.enabled) {
        let matches = match brand {
            None => true,
            Some(brand) => ctx
                .services
                .host
                .plugin(&record.plugin)
                .is_ok_and(|p| p.manifest.brand == brand),
        };
        if matches {
            names.push(record.name);
        }
    }
    Ok(names)
}

fn incident_summary(incident: &Incident) -> Value {
    json!({"id": incident.id, "type": incident.kind, "name": incident.name, "status": incident.status,
           "owner": incident.owner, "created_at": incident.created_at, "fields": incident.fields})
}

impl Run {
    pub fn new(
        services: Arc<Services>,
        store: PooledStore,
        incident: Incident,
        journal: Journal,
        budget: Budget,
    ) -> Result<Self> {
        let state = Arc::new(Mutex::new(State {
            services,
            store,
            incident,
            journal,
            pending_question: None,
            halt_message: None,
            fault: None,
            budget,
            budget_spent_in: None,
        }));
        let mut engine = crate::scripting::engine();
        // The clock is read every few thousand operations: a loop without host calls
        // stops too.
        engine.on_progress(move |operations| match operations % 4096 {
            0 => budget.out_of_time().map(Dynamic::from),
            _ => None,
        });
        // `import "lib/iam" as iam;` loads shared functions from the playbooks folder, and
        // from nowhere else.
        let dir = lock(&state).services.playbooks.dir().to_owned();
        engine.set_module_resolver(crate::scripting::ConfinedImports::new(&dir));
        register(&mut engine, &state);
        Ok(Self { engine, state })
    }

    pub fn incident_id(&self) -> i64 {
        lock(&self.state).incident.id
    }

    /// Runs the playbook with `incident` and `inputs` in scope.
    pub fn eval(&self, playbook: &str, ast: &AST) -> Result<(), Box<EvalAltResult>> {
        let (incident, inputs) = {
            let state = lock(&self.state);
            (
                incident_summary(&state.incident),
                Value::Object(state.services.config.inputs.clone()),
            )
        };
        let mut scope = Scope::new();
        scope.push_constant("incident", to_dyn(&incident)?);
        scope.push_constant("inputs", to_dyn(&inputs)?);
        scope.push_constant("PLAYBOOK", playbook.to_owned());
        self.engine.run_ast_with_scope(&mut scope, ast)
    }

    pub fn into_state(self) -> State {
        let Run { engine, state } = self;
        drop(engine); // its functions hold the other references to the state
        match Arc::try_unwrap(state) {
            Ok(mutex) => mutex.into_inner().unwrap_or_else(|p| p.into_inner()),
            Err(_) => unreachable!("the engine was the only other owner of the run state"),
        }
    }
}

/// Sends `message` ({to, cc, subject, body}) through the journal.
fn send_mail(s: &Mutex<State>, message: Value) -> Result<Value, Box<EvalAltResult>> {
    // Mail may carry a new account's password: the journal keeps who got what subject.
    let mut shown: Map<String, Value> = ["to", "cc", "subject"]
        .into_iter()
        .filter_map(|k| Some((k.to_owned(), message.get(k)?.clone())))
        .collect();
    shown.insert("body".into(), json!(REDACTED));
    let privacy = Privacy::Sensitive {
        shown: Value::Object(shown),
    };
    journaled_value(s, "mail", message.clone(), privacy, |ctx| {
        let field = |k: &str| message.get(k).and_then(Value::as_str).unwrap_or_default();
        let mail = Mail {
            to: recipients(field("to")),
            cc: recipients(field("cc")),
            subject: field("subject").to_owned(),
            body: field("body").to_owned(),
        };
        let mailer = ctx
            .services
            .mailer
            .as_ref()
            .context("no SMTP server is configured (--smtp / ILM_SMTP)")?;
        // The same step of the same attempt: a repeat after a crash carries the same
        // Message-ID, so a receiver can drop it.
        let call = ctx.call;
        mailer.send(
            &mail,
            &format!("ilm.{}.{}.{}", call.incident, call.attempt, call.seq),
        )?;
        Ok(json!(true))
    })
}

/// The answer to `question`, or the run suspends until someone gives one.
fn ask(s: &Mutex<State>, question: &str, answers: rhai::Array) -> Fallible {
    let answers: Vec<String> = answers.into_iter().map(|a| a.to_string()).collect();
    let mut guard = lock(s);
    let State {
        journal,
        store,
        fault,
        ..
    } = &mut *guard;
    match journal
        .ask(store, &json!({"question": question, "answers": answers}))
        .map_err(|err| journal_error(fault, err))?
    {
        Answer::Given(answer) => to_dyn(&answer),
        Answer::Pending => {
            guard.pending_question = Some(question.to_owned());
            Err(terminate(SUSPEND))
        }
    }
}

/// Registers the host API on the run's engine.
fn register(engine: &mut Engine, state: &Arc<Mutex<State>>) {
    let s = state.clone();
    engine.register_fn(
        "iam",
        move |command: &str, using: Dynamic, profile: Dynamic| -> Fallible {
            iam_call(&s, command, &using, &profile, true)
        },
    );
    let s = state.clone();
    engine.register_fn(
        "iam",
        move |command: &str, using: Dynamic, profile: Dynamic, allow_enable: bool| -> Fallible {
            iam_call(&s, command, &using, &profile, allow_enable)
        },
    );
    let s = state.clone();
    engine.register_fn("iam_brand", move |command: &str, brand: &str, profile: Dynamic, allow_enable: bool| -> Fallible {
        let profile = from_dyn(&profile).map_err(script_error)?;
        let args = json!({"command": command, "brand": brand, "profile": profile, "allow_enable": allow_enable});
        iam_journaled(&s, command, Targets::Brand(brand.to_owned()), args, &profile, allow_enable)
    });
    let s = state.clone();
    engine.register_fn("enabled_instances", move || -> Fallible {
        journaled(&s, "instances.enabled", Value::Null, Public, |ctx| {
            Ok(json!(enabled_instances(&ctx, None)?))
        })
    });
    let s = state.clone();
    engine.register_fn("enabled_instances", move |brand: &str| -> Fallible {
        journaled(&s, "instances.enabled", json!(brand), Public, |ctx| {
            Ok(json!(enabled_instances(&ctx, Some(brand))?))
        })
    });
    let s = state.clone();
    engine.register_fn(
        "plugin_command",
        move |name: &str, using: Dynamic, args: Dynamic| -> Fallible {
            let using = instance_names(&using).map_err(script_error)?;
            let args = from_dyn(&args).map_err(script_error)?;
            // Commands whose manifest declares them sensitive (ad-set-new-password) carry
            // secrets: the journal keeps only which command ran where.
            let sensitive = {
                let state = lock(&s);
                let integrations = Integrations {
                    store: &state.store,
                    host: &state.services.host,
                    mappers: &state.services.mappers,
                };
                using
                    .iter()
                    .any(|instance| integrations.command_is_sensitive(instance, name))
            };
            let privacy = if sensitive {
                Privacy::Sensitive {
                    shown: json!({"name": name, "using": using, "args": REDACTED}),
                }
            } else {
                Public
            };
            journaled(
                &s,
                "plugin.command",
                json!({"name": name, "using": using, "args": args}),
                privacy,
                |ctx| {
                    let mut out = Map::new();
                    for instance in &using {
                        out.insert(
                            instance.clone(),
                            ctx.integrations().command(instance, name, &args)?,
                        );
                    }
                    Ok(Value::Object(out))
                },
            )
        },
    );

    let s = state.clone();
    engine.register_fn(
        "incoming_profile",
        move |instance: &str, app_user: Dynamic| -> Fallible {
            let app_user = from_dyn(&app_user).map_err(script_error)?;
            let args = json!({"instance": instance, "app_user": app_user});
            journaled(&s, "mapper.incoming", args, Public, |ctx| {
                Ok(Value::Object(
                    ctx.integrations().incoming_profile(instance, &app_user)?,
                ))
            })
        },
    );
    let s = state.clone();
    engine.register_fn("profile_get", move |email: &str| -> Fallible {
        journaled(&s, "profile.get", json!(email), Public, |ctx| {
            Ok(ctx
                .store
                .profile(email)?
                .map(|p| Value::Object(p.fields))
                .unwrap_or(Value::Null))
        })
    });
    let s = state.clone();
    engine.register_fn("profile_by_employee_id", move |id: &str| -> Fallible {
        journaled(&s, "profile.by-employee-id", json!(id), Public, |ctx| {
            let filter = ProfileFilter {
                employee_id: Some(id.to_owned()),
                ..ProfileFilter::default()
            };
            let page = ctx
                .store
                .search_profiles(&filter, PageRequest::new(0, 1)?)?;
            Ok(page
                .data
                .into_iter()
                .next()
                .map(|p| Value::Object(p.fields))
                .unwrap_or(Value::Null))
        })
    });
    let s = state.clone();
    engine.register_fn("profiles_by_display_name", move |name: &str| -> Fallible {
        journaled(&s, "profile.by-display-name", json!(name), Public, |ctx| {
            let filter = ProfileFilter {
                display_name: Some(name.to_owned()),
                ..ProfileFilter::default()
            };
            let page = ctx
                .store
                .search_profiles(&filter, PageRequest::new(0, PageRequest::MAX_SIZE)?)?;
            Ok(Value::Array(
                page.data
                    .into_iter()
                    .map(|p| Value::Object(p.fields))
                    .collect(),
            ))
        })
    });
    let s = state.clone();
    engine.register_fn(
        "profile_put",
        move |email: &str, fields: Dynamic| -> Fallible {
            let fields = from_dyn(&fields).map_err(script_error)?;
            journaled(
                &s,
                "profile.put",
                json!({"email": email, "fields": fields}),
                Public,
                |ctx| {
                    let Value::Object(fields) = fields else {
                        bail!("profile_put needs an object map of fields")
                    };
                    Ok(Value::Object(ctx.store.put_profile(email, &fields)?.fields))
                },
            )
        },
    );
    let s = state.clone();
    engine.register_fn(
        "profile_update",
        move |email: &str, patch: Dynamic| -> Fallible {
            let patch = from_dyn(&patch).map_err(script_error)?;
            journaled(
                &s,
                "profile.update",
                json!({"email": email, "patch": patch}),
                Public,
                |ctx| {
                    let Value::Object(patch) = patch else {
                        bail!("profile_update needs an object map of fields")
                    };
                    let mut fields = ctx
                        .store
                        .profile(email)?
                        .with_context(|| format!("no user profile {email}"))?
                        .fields;
                    fields.extend(patch);
                    Ok(Value::Object(ctx.store.put_profile(email, &fields)?.fields))
                },
            )
        },
    );
    let s = state.clone();
    engine.register_fn("profile_delete", move |email: &str| -> Fallible {
        journaled(&s, "profile.delete", json!(email), Public, |ctx| {
            Ok(json!(ctx.store.delete_profile(email)?))
        })
    });

    let s = state.clone();
    engine.register_fn("set_field", move |name: &str, value: Dynamic| -> Fallible {
        let value = from_dyn(&value).map_err(script_error)?;
        journaled(
            &s,
            "incident.set",
            json!({"field": name, "value": value}),
            Public,
            |ctx| {
                let mut patch = Map::new();
                patch.insert(name.to_owned(), value);
                ctx.store.update_incident_fields(ctx.incident.id, &patch)?;
                Ok(Value::Null)
            },
        )
    });
    let s = state.clone();
    engine.register_fn("rename", move |name: &str| -> Fallible {
        journaled(&s, "incident.rename", json!(name), Public, |ctx| {
            ctx.store.rename_incident(ctx.incident.id, name)?;
            Ok(Value::Null)
        })
    });
    let s = state.clone();
    engine.register_fn("close", move |note: &str| -> Fallible {
        let out = journaled(&s, "incident.close", json!(note), Public, |ctx| {
            close_incident(ctx.store, ctx.incident.id, note)?;
            Ok(Value::Null)
        })?;
        Ok(out)
    });
    let s = state.clone();
    engine.register_fn("close_incident", move |id: i64, note: &str| -> Fallible {
        journaled(
            &s,
            "incident.close-other",
            json!({"id": id, "note": note}),
            Public,
            |ctx| {
                close_incident(ctx.store, id, note)?;
                Ok(Value::Null)
            },
        )
    });
    let s = state.clone();
    engine.register_fn("find_incidents", move |filter: Dynamic| -> Fallible {
        let filter = from_dyn(&filter).map_err(script_error)?;
        journaled(&s, "incident.find", filter.clone(), Public, |ctx| {
            let text = |k: &str| filter.get(k).and_then(Value::as_str).map(str::to_owned);
            let status = text("status")
                .map(|s| serde_json::from_value::<IncidentStatus>(json!(s)))
                .transpose()?;
            let query = IncidentFilter {
                kind: text("type"),
                status,
                email: text("email"),
            };
            let page = ctx
                .store
                .search_incidents(&query, PageRequest::new(0, PageRequest::MAX_SIZE)?)?;
            Ok(Value::Array(
                page.data.iter().map(incident_summary).collect(),
            ))
        })
    });
    let s = state.clone();
    engine.register_fn("assign", move |role: &str| -> Fallible {
        journaled(&s, "incident.assign", json!(role), Public, |ctx| {
            let candidates: Vec<String> = ctx
                .store
                .users()?
                .into_iter()
                .filter(|u| !u.disabled && u.roles.iter().any(|r| r == role))
                .map(|u| u.id)
                .collect();
            if candidates.is_empty() {
                tracing::warn!(
                    incident = ctx.incident.id,
                    role,
                    "no enabled user has this role; the incident stays unassigned"
                );
                return Ok(Value::Null);
            }
            let mut draw = [0u8; 8];
            getrandom::fill(&mut draw).map_err(|e| anyhow!("{e}"))?;
            let chosen = &candidates[(u64::from_le_bytes(draw) % candidates.len() as u64) as usize];
            ctx.store
                .set_incident_owner(ctx.incident.id, Some(chosen))?;
            Ok(json!(chosen))
        })
    });

    let s = state.clone();
    engine.register_fn("context", move |key: &str| -> Fallible {
        journaled(&s, "context.get", json!(key), Public, |ctx| {
            Ok(ctx
                .store
                .run_state(ctx.incident.id)?
                .context
                .get(key)
                .cloned()
                .unwrap_or(Value::Null))
        })
    });
    let s = state.clone();
    engine.register_fn(
        "set_context",
        move |key: &str, value: Dynamic| -> Fallible {
            let value = from_dyn(&value).map_err(script_error)?;
            journaled(
                &s,
                "context.set",
                json!({"key": key, "value": value}),
                Public,
                |ctx| {
                    let mut context = ctx.store.run_state(ctx.incident.id)?.context;
                    context.insert(key.to_owned(), value);
                    ctx.store.set_incident_context(ctx.incident.id, &context)?;
                    Ok(Value::Null)
                },
            )
        },
    );
    let s = state.clone();
    engine.register_fn("list", move |name: &str| -> Fallible {
        journaled(&s, "list.get", json!(name), Public, |ctx| {
            Ok(match ctx.store.list(name)? {
                None => Value::Null,
                Some(body) => serde_json::from_str(&body).unwrap_or(Value::String(body)),
            })
        })
    });
    let s = state.clone();
    engine.register_fn("set_list", move |name: &str, body: Dynamic| -> Fallible {
        let body = from_dyn(&body).map_err(script_error)?;
        journaled(
            &s,
            "list.set",
            json!({"name": name, "body": body}),
            Public,
            |ctx| {
                let text = match &body {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                ctx.store.set_list(name, &text)?;
                Ok(Value::Null)
            },
        )
    });
    let s = state.clone();
    engine.register_fn("mail", move |message: Dynamic| -> Fallible {
        to_dyn(&send_mail(&s, from_dyn(&message).map_err(script_error)?)?)
    });
    let s = state.clone();
    engine.register_fn("transform", move |name: &str, input: Dynamic| -> Fallible {
        let input = from_dyn(&input).map_err(script_error)?;
        // Transformers may generate secrets (passwords): the result is sealed, for replay.
        journaled(
            &s,
            "transform",
            json!({"name": name, "input": input}),
            Privacy::Sensitive {
                shown: json!({"name": name, "input": REDACTED}),
            },
            |ctx| ctx.services.transformers.run(name, &input),
        )
    });
    let s = state.clone();
    engine.register_fn("playbook_exists", move |name: &str| -> Fallible {
        journaled(&s, "playbook.exists", json!(name), Public, |ctx| {
            // Present is enough: a hook that does not compile fails when it is run.
            Ok(json!(ctx.services.playbooks.exists(name)))
        })
    });
    let s = state.clone();
    engine.register_fn("today", move || -> Fallible {
        journaled(&s, "today", Value::Null, Public, |ctx| {
            Ok(json!(ctx.store.today()?))
        })
    });
    let s = state.clone();
    engine.register_fn(
        "ask",
        move |question: &str, answers: rhai::Array| -> Fallible { ask(&s, question, answers) },
    );
    let s = state.clone();
    engine.register_fn(
        "ask",
        move |question: &str, answers: rhai::Array, to: &str| -> Fallible {
            let choices: Vec<String> = answers.iter().map(ToString::to_string).collect();
            let message = {
                let state = lock(&s);
                let id = state.incident.id;
                question_mail::message(
                    to,
                    id,
                    &state.incident.name,
                    question,
                    &choices,
                    state.services.config.approval_link(id),
                )
            };
            // Journaled before the question, so a resumed run does not mail it again.
            send_mail(&s, message)?;
            ask(&s, question, answers)
        },
    );
    let s = state.clone();
    engine.register_fn("fail", move |message: &str| -> Fallible {
        lock(&s).halt_message = Some(message.to_owned());
        Err(terminate(HALT))
    });
    let s = state.clone();
    engine.register_fn("log", move |message: &str| {
        tracing::info!(incident = lock(&s).incident.id, "{message}");
    });
    let s = state.clone();
    engine.register_fn(
        "playbook",
        move |context: NativeCallContext, name: &str, inputs: Dynamic| -> Fallible {
            let (script, incident, mut merged) = {
                let mut state = lock(&s);
                let script = match state.services.playbooks.get(name) {
                    Ok(script) => script,
                    Err(err) => return Err(blame::host_error(&mut state.fault, err)),
                };
                (
                    script,
                    incident_summary(&state.incident),
                    state.services.config.inputs.clone(),
                )
            };
            if let Value::Object(extra) = from_dyn(&inputs).map_err(script_error)? {
                merged.extend(extra);
            }
            let mut scope = Scope::new();
            scope.push_constant("incident", to_dyn(&incident)?);
            scope.push_constant("inputs", to_dyn(&Value::Object(merged))?);
            scope.push_constant("PLAYBOOK", name.to_owned());
            context
                .engine()
                .eval_ast_with_scope::<Dynamic>(&mut scope, &script.ast)
                .map_err(|err| {
                    let mut state = lock(&s);
                    if budget_token(&err).is_some() && state.budget_spent_in.is_none() {
                        state.budget_spent_in =
                            Some(format!("playbook {name} ({})", err.position()));
                    }
                    if budget_token(&err).is_some()
                        || is_token(&err, SUSPEND)
                        || is_token(&err, HALT)
                        || blame::is_blamed(state.fault.as_deref(), &err)
                    {
                        return err;
                    }
                    blame::blame(&mut state.fault, script.error(err.to_string()).to_string())
                })
        },
    );
}

fn iam_call(
    state: &Mutex<State>,
    command: &str,
    using: &Dynamic,
    profile: &Dynamic,
    allow_enable: bool,
) -> Fallible {
    let using = instance_names(using).map_err(script_error)?;
    let profile = from_dyn(profile).map_err(script_error)?;
    let args = json!({"command": command, "using": using, "profile": profile, "allow_enable": allow_enable});
    iam_journaled(
        state,
        command,
        Targets::Named(using),
        args,
        &profile,
        allow_enable,
    )
}

/// The budget token `err` ends the run with, if any.
pub fn budget_token(err: &EvalAltResult) -> Option<&'static str> {
    [CALLS_TOKEN, TIME_TOKEN]
        .into_iter()
        .find(|token| is_token(err, token))
}

fn close_incident(store: &Store, id: i64, note: &str) -> Result<()> {
    let mut patch = Map::new();
    patch.insert("closeNotes".into(), json!(note));
    store.update_incident_fields(id, &patch)?;
    store.set_incident_status(id, IncidentStatus::Closed)?;
    Ok(())
}
