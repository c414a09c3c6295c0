//! The `ilm` command line: argument parsing, logging setup and exit codes. Each command
//! group lives in its own module and returns an [`Outcome`].

mod apikey;
mod audit;
mod command;
mod fetch;
mod incident;
mod init;
mod instance;
mod instance_args;
mod list;
mod output;
mod password;
mod people;
mod playbook;
mod plugin;
mod plugin_new;
mod profile;
mod run;
mod secret_key;
mod serve;
mod sigpipe;
mod status;
mod transform;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes: 0 success, 1 error, 2 bad usage (clap), 3 the command ran but at least
/// one vendor result failed, 4 `ilm run --once` finished but a fetch or an incident failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    VendorFailure,
    RunFailures,
}

const EXIT_ERROR: u8 = 1;
const EXIT_VENDOR_FAILURE: u8 = 3;
const EXIT_RUN_FAILURES: u8 = 4;

#[derive(Parser)]
#[command(
    name = "ilm",
    version,
    about = "Identity lifecycle runtime: HR-driven provisioning through sandboxed WebAssembly integrations"
)]
pub struct Cli {
    /// Where the database, the plugin cache and generated keys live.
    #[arg(long, global = true, env = "ILM_HOME", default_value = ".ilm")]
    data_dir: PathBuf,

    /// The database: a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE), which
    /// several processes on several machines can share, or a SQLite file. Defaults to
    /// `<data-dir>/ilm.db`. Every process sharing a database needs the same secret key
    /// (`ILM_SECRET_KEY`, or the same `<data-dir>/secret.key`).
    #[arg(long, global = true, env = "ILM_DATABASE")]
    database: Option<String>,

    /// Folder of installed plugins (`<name>.wasm` with `<name>.toml` beside it).
    /// Defaults to `<data-dir>/plugins`.
    #[arg(long, global = true, env = "ILM_PLUGINS_DIR")]
    plugins_dir: Option<PathBuf>,

    /// Folder of playbooks, mappers (`mappers/`) and transformers (`transformers/`).
    /// Defaults to `<data-dir>/playbooks` (made by `ilm init`), or else `./playbooks` when
    /// run in a checkout of the runtime.
    #[arg(long, global = true, env = "ILM_PLAYBOOKS_DIR")]
    playbooks_dir: Option<PathBuf>,

    /// The SMTP server playbooks send mail through: smtp://host:port (plain),
    /// smtp://host:port?tls=required (STARTTLS) or smtps://host:port; a login goes in as
    /// user:password@host, over TLS only; ca=FILE (a PEM file) verifies a server whose
    /// certificate your own CA issued, e.g. smtps://mail.corp:465?ca=/etc/ilm/corp-ca.pem.
    #[arg(long, global = true, env = "ILM_SMTP")]
    smtp: Option<String>,

    /// The sender of playbook mail.
    #[arg(
        long,
        global = true,
        env = "ILM_MAIL_FROM",
        default_value = "ilm@localhost"
    )]
    mail_from: String,

    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Log filter (e.g. `info`, `ilm=debug`); also read from `ILM_LOG`. The default is
    /// `warn`, and for `ilm serve` also its request log (`warn,ilm::api=info`).
    #[arg(long, global = true, env = "ILM_LOG", value_parser = log_filter)]
    log: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// List, inspect and install integration plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Set up a data directory: its database and secret key, and its own copy of the
    /// shipped playbooks, mappers and transformers (edited files are never overwritten).
    Init(init::InitArgs),
    /// Configure integration instances (a plugin plus its parameters and secrets).
    #[command(subcommand)]
    Instance(instance::InstanceCommand),
    /// Run an IAM or plugin command on one or more instances.
    #[command(name = "command")]
    Iam(command::CommandArgs),
    /// Try a transformer script (OU mapping, password generation, ...) on an input.
    Transform(transform::TransformArgs),
    /// Users of the runtime: who the API shows to ConductorOne and playbooks assign to.
    #[command(subcommand)]
    User(people::UserCommand),
    /// Roles and the permissions they grant.
    #[command(subcommand)]
    Role(people::RoleCommand),
    /// API keys for the REST API (shown once, stored as a hash).
    #[command(subcommand)]
    Apikey(apikey::ApiKeyCommand),
    /// Who changed what, newest first: users, roles, API keys, profiles, incidents,
    /// instances, lists and plugins, and failed API sign-ins. Filter with --actor,
    /// --target, --action and --since.
    Audit(audit::AuditArgs),
    /// The runtime at a glance: each instance's last and next fetch and last error, the
    /// incidents by status, and what needs a person (questions, failures, held fetches).
    Status(status::StatusArgs),
    /// The key that seals stored secrets: rotate it.
    #[command(subcommand)]
    SecretKey(secret_key::SecretKeyCommand),
    /// Serve the XSOAR-compatible REST API and the web console (at /) over HTTPS.
    Serve(serve::ServeArgs),
    /// Incidents: create, inspect, run their playbooks, answer their questions.
    #[command(subcommand)]
    Incident(incident::IncidentCommand),
    /// Stored user profiles.
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// Lists playbooks read (e.g. app-provisioning-settings).
    #[command(subcommand)]
    List(list::ListCommand),
    /// Playbooks: list them, or run one on an ad-hoc incident.
    #[command(subcommand)]
    Playbook(playbook::PlaybookCommand),
    /// Run pending incidents' playbooks until stopped.
    Worker(playbook::WorkerArgs),
    /// Read a Workday report, classify every row and create the incidents (or plan them).
    Fetch(fetch::FetchArgs),
    /// The runtime: fetch every Workday instance on its interval and run the incidents.
    Run(run::RunArgs),
}

/// Paths and settings every command needs.
pub struct Context {
    pub data_dir: PathBuf,
    /// `--database`, when given.
    pub database: Option<String>,
    pub plugins_dir: PathBuf,
    pub playbooks_dir: PathBuf,
    pub smtp: Option<String>,
    pub mail_from: String,
}

impl Context {
    pub fn store(&self) -> Result<crate::store::Store> {
        // The database, the key file and the TLS key live here: the owner's alone.
        crate::store::files::private_dir(&self.data_dir)?;
        crate::store::Store::open(self.database())
    }

    /// The database `--database` names, or else `<data-dir>/ilm.db`.
    pub fn database(&self) -> crate::store::Database {
        match &self.database {
            Some(location) => crate::store::Database::parse(location, &self.data_dir),
            None => crate::store::Database::Sqlite(self.data_dir.join("ilm.db")),
        }
    }

    pub fn mappers(&self) -> crate::mappers::MapperCache {
        crate::mappers::MapperCache::new(
            &self.playbooks_dir.join("mappers"),
            std::sync::Arc::new(self.transformers()),
        )
    }

    pub fn transformers(&self) -> crate::transformers::Transformers {
        crate::transformers::Transformers::new(&self.playbooks_dir.join("transformers"))
    }

    pub fn playbook_config(&self) -> Result<crate::playbooks::PlaybookConfig> {
        self.check_playbooks_dir()?;
        crate::playbooks::PlaybookConfig::load(&self.playbooks_dir)
    }

    fn check_playbooks_dir(&self) -> Result<()> {
        if !self.playbooks_dir.is_dir() {
            anyhow::bail!(
                "there is no playbooks folder at {}: `ilm init` creates one with the shipped \
                 playbooks, mappers and transformers, or give --playbooks-dir",
                self.playbooks_dir.display()
            );
        }
        Ok(())
    }

    /// Everything playbook runs need, for this process.
    pub fn services(&self) -> Result<std::sync::Arc<crate::playbooks::Services>> {
        self.store()?; // creates the data directory and brings the schema up to date
        self.check_playbooks_dir()?;
        let mailer = self
            .smtp
            .as_deref()
            .map(|url| crate::mail::Mailer::new(url, &self.mail_from))
            .transpose()?;
        let dirs = crate::playbooks::ScriptDirs::under(&self.playbooks_dir);
        let host = std::sync::Arc::new(self.host()?);
        Ok(std::sync::Arc::new(crate::playbooks::Services::new(
            self.database(),
            host,
            &dirs,
            mailer,
        )?))
    }

    pub fn host(&self) -> Result<crate::plugins::Host> {
        // The compile cache lives in the data directory: make that owner-only first, or
        // creating the cache would make it with the default mode.
        crate::store::files::private_dir(&self.data_dir)?;
        crate::plugins::Host::new(crate::plugins::HostConfig {
            plugins_dir: self.plugins_dir.clone(),
            cache_dir: self.data_dir.join("cache"),
        })
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(
        cli.command,
        Command::Serve(_) | Command::Run(_) | Command::Worker(_)
    ) {
        sigpipe::end_quietly_on_closed_stdout();
    }
    let log = cli.log.as_deref().unwrap_or(match cli.command {
        // A server without a request log hides who called it.
        Command::Serve(_) => "warn,ilm::api=info",
        _ => "warn",
    });
    init_logging(cli.log_format, log);
    let ctx = Context {
        plugins_dir: cli
            .plugins_dir
            .unwrap_or_else(|| cli.data_dir.join("plugins")),
        playbooks_dir: match (cli.playbooks_dir, &cli.command) {
            (Some(dir), _) => dir,
            // `ilm init` makes the data directory's own, even in a checkout.
            (None, Command::Init(_)) => cli.data_dir.join("playbooks"),
            (None, _) => default_playbooks_dir(&cli.data_dir),
        },
        data_dir: cli.data_dir,
        database: cli.database,
        smtp: cli.smtp,
        mail_from: cli.mail_from,
    };
    let result = match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Plugin(cmd) => plugin::run(&ctx, cmd),
        Command::Instance(cmd) => instance::run(&ctx, cmd),
        Command::Iam(args) => command::run(&ctx, args),
        Command::Transform(args) => transform::run(&ctx, args),
        Command::User(cmd) => people::run_user(&ctx, cmd),
        Command::Role(cmd) => people::run_role(&ctx, cmd),
        Command::Apikey(cmd) => apikey::run(&ctx, cmd),
        Command::Audit(args) => audit::run(&ctx, args),
        Command::SecretKey(cmd) => secret_key::run(&ctx, cmd),
        Command::Serve(args) => serve::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::Incident(cmd) => incident::run(&ctx, cmd),
        Command::Profile(cmd) => profile::run(&ctx, cmd),
        Command::List(cmd) => list::run(&ctx, cmd),
        Command::Playbook(cmd) => playbook::run(&ctx, cmd),
        Command::Worker(args) => playbook::worker(&ctx, args),
        Command::Fetch(args) => fetch::run(&ctx, args),
        Command::Run(args) => run::run(&ctx, args),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::VendorFailure) => ExitCode::from(EXIT_VENDOR_FAILURE),
        Ok(Outcome::RunFailures) => ExitCode::from(EXIT_RUN_FAILURES),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The data directory's own playbooks when `ilm init` made them, else those of a checkout
/// the command runs in, else the data directory's (which `ilm init` makes).
fn default_playbooks_dir(data_dir: &std::path::Path) -> PathBuf {
    let own = data_dir.join("playbooks");
    let checkout = PathBuf::from("playbooks");
    if !own.is_dir() && checkout.join("config.toml").is_file() {
        return checkout;
    }
    own
}

/// A `--log` value that is a filter, checked when the command line is read, so a typo is a
/// usage error rather than a silent fall back to warnings only.
fn log_filter(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(text)
        .map(|_| text.to_owned())
        .map_err(|e| {
            format!("{e}; a filter is a level (info) or target=level pairs (warn,ilm=debug)")
        })
}

fn init_logging(format: LogFormat, filter: &str) {
    // `log_filter` checked the value; the defaults are valid.
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colours only for a person at a terminal: a file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
