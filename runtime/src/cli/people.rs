//! `ilm user add|list|show|disable|enable|set-roles|set-password` and `ilm role add|list|show`: the
//! people the API serves to ConductorOne and the roles that say what their keys may do.

use super::{output, password, Context, Outcome};
use crate::store::{Actor, NewUser, Permission, Role, User};
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; the username is also the user's id.
    Add(AddUser),
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one user.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Disable a user; their API keys stop working.
    Disable { id: String },
    /// Enable a disabled user again.
    Enable { id: String },
    /// Replace a user's roles (a user keeps at least one).
    SetRoles {
        id: String,
        #[arg(required = true)]
        roles: Vec<String>,
    },
    /// Set the password a user signs in to the web console with (`ilm serve`, at /console).
    ///
    /// The password is read from standard input (its first line), or asked for without
    /// echo when standard input is a terminal; never from the command line, where other
    /// users could see it. Setting it ends the user's console sessions.
    SetPassword {
        /// The user's id (their login name).
        id: String,
    },
}

#[derive(Args)]
pub struct AddUser {
    /// The login name, also the user's id.
    username: String,
    /// Display name; defaults to "FIRST LAST", or the username.
    #[arg(long)]
    name: Option<String>,
    #[arg(long, default_value = "")]
    first_name: String,
    #[arg(long, default_value = "")]
    last_name: String,
    #[arg(long, default_value = "")]
    email: String,
    /// A role to give (repeatable; at least one).
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
}

#[derive(Subcommand)]
pub enum RoleCommand {
    /// Add a custom role.
    Add {
        name: String,
        /// A permission to grant (repeatable): users.read, users.write, roles.read,
        /// roles.write, incidents.read, incidents.write, profiles.read, profiles.write.
        #[arg(long = "permission", required = true, value_parser = str::parse::<Permission>)]
        permissions: Vec<Permission>,
    },
    /// List roles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one role.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run_user(ctx: &Context, cmd: UserCommand) -> Result<Outcome> {
    let store = ctx.store()?;
    match cmd {
        UserCommand::Add(args) => {
            let full_name = format!("{} {}", args.first_name, args.last_name)
                .trim()
                .to_owned();
            let name = args.name.unwrap_or(if full_name.is_empty() {
                args.username.clone()
            } else {
                full_name
            });
            let user = store.add_user(
                &NewUser {
                    username: args.username,
                    name,
                    first_name: args.first_name,
                    last_name: args.last_name,
                    email: args.email,
                    roles: args.roles,
                },
                &Actor::Cli,
            )?;
            println!(
                "added user {} with roles {}",
                user.id,
                user.roles.join(", ")
            );
        }
        UserCommand::List { json } => {
            let users = store.users()?;
            if json {
                output::print_json(&users)?;
            } else {
                println!(
                    "{}",
                    output::table(
                        &["id", "name", "email", "roles", "disabled"],
                        users.into_iter().map(|u| vec![
                            u.id,
                            u.name,
                            u.email,
                            u.roles.join(", "),
                            u.disabled.to_string(),
                        ]),
                    )
                );
            }
        }
        UserCommand::Show { id, json } => {
            let user = store
                .user(&id)?
                .with_context(|| format!("no user {id:?}"))?;
            if json {
                output::print_json(&user)?;
            } else {
                print_user(&user);
            }
        }
        UserCommand::Disable { id } => {
            store.set_user_disabled(&id, true, &Actor::Cli)?;
            println!("disabled user {id}; their API keys no longer work");
        }
        UserCommand::Enable { id } => {
            store.set_user_disabled(&id, false, &Actor::Cli)?;
            println!("enabled user {id}");
        }
        UserCommand::SetRoles { id, roles } => {
            let user = store.set_user_roles(&id, &roles, &Actor::Cli)?;
            println!("user {} now has roles {}", user.id, user.roles.join(", "));
        }
        UserCommand::SetPassword { id } => {
            let password = password::read(&format!("new console password for {id}: "))?;
            let hash = crate::console::hash_password(&password)?;
            store.set_password_hash(&id, &hash, &Actor::Cli)?;
            println!("set the console password of user {id}; they sign in at /console");
        }
    }
    Ok(Outcome::Success)
}

pub fn run_role(ctx: &Context, cmd: RoleCommand) -> Result<Outcome> {
    let store = ctx.store()?;
    match cmd {
        RoleCommand::Add { name, permissions } => {
            let role = store.add_role(&name, &permissions, &Actor::Cli)?;
            println!(
                "added role {} granting {}",
                role.name,
                role.permissions.join(", ")
            );
        }
        RoleCommand::List { json } => {
            let roles = store.roles()?;
            if json {
                output::print_json(&roles)?;
            } else {
                println!(
                    "{}",
                    output::table(
                        &["name", "permissions", "built-in"],
                        roles.into_iter().map(|r| vec![
                            r.name,
                            r.permissions.join(", "),
                            r.builtin.to_string(),
                        ]),
                    )
                );
            }
        }
        RoleCommand::Show { name, json } => {
            let role = store
                .role(&name)?
                .with_context(|| format!("no role {name:?}"))?;
            if json {
                output::print_json(&role)?;
            } else {
                print_role(&role);
            }
        }
    }
    Ok(Outcome::Success)
}

fn print_user(user: &User) {
    println!(
        "{} ({}){}",
        user.id,
        user.name,
        if user.disabled { ", disabled" } else { "" }
    );
    println!("  username: {}", user.username);
    println!("  first name: {}", user.first_name);
    println!("  last name: {}", user.last_name);
    println!("  email: {}", user.email);
    println!("  roles: {}", user.roles.join(", "));
    println!("  version: {}", user.version);
}

fn print_role(role: &Role) {
    println!(
        "{}{}",
        role.name,
        if role.builtin { " (built-in)" } else { "" }
    );
    for permission in &role.permissions {
        println!("  {permission}");
    }
}
