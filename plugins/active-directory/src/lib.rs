//! Active Directory Query v2: the IAM primitives and the ILM commands of the XSOAR Active Directory integration, over
//! the host's `ldap` import. The host connects (LDAPS or StartTLS with the instance's CA)
//! and binds with the instance's secret password; this guest never sees it.
//!
//! Users are found by sAMAccountName and identified by objectGUID (see
//! [`Directory::app_user`]). New accounts are created disabled in the OU the mapper
//! computes; the IAMInitADUser steps set the password and enable them later.

mod directory;
mod dn;
mod profile;

use directory::{Directory, User, DISABLED_ACCOUNT};
use ilm_plugin_sdk::ldap::{self, Attribute};
use ilm_plugin_sdk::{app_error, commands, fetch, iam, AppError, AppUser, Field};
use ilm_plugin_sdk::{FetchResult, Lookup, PluginInfo};
use profile::Mapped;
use serde_json::{json, Map, Value};

struct ActiveDirectory;

ilm_plugin_sdk::export_plugin!(ActiveDirectory);

const COMMANDS: &[&str] = &[
    "ad-set-new-password",
    "ad-enable-account",
    "ad-disable-account",
    "ad-update-user",
    "ad-expire-password",
];

/// How many numbered CNs are tried after the plain one collides.
const MAX_CN_SUFFIX: u32 = 29;

/// The object classes of a new user.
const USER_CLASSES: &[&str] = &["top", "person", "organizationalPerson", "user"];

/// Fields offered to the mapper editor: AD attributes, then the pseudo-attributes.
const FIELDS: &[(&str, &str)] = &[
    (
        "sAMAccountName",
        "Logon name (pre-Windows 2000); required; how users are found",
    ),
    (
        "ou",
        "DN of the OU the account lives in; required (an OU transformer computes it)",
    ),
    (
        "cn",
        "Common name, the account's RDN (a number is appended on collision)",
    ),
    (
        "dn",
        "Full DN of a new account; overrides cn and ou on create",
    ),
    (
        "manageremail",
        "The manager's email; its local part is the manager's sAMAccountName",
    ),
    ("displayName", "Display name"),
    ("givenName", "First name"),
    ("sn", "Last name"),
    ("mail", "Email address"),
    ("userPrincipalName", "Logon name user@domain"),
    ("title", "Job title"),
    ("department", "Department"),
    ("company", "Company"),
    ("employeeID", "Employee id (from HR)"),
    ("l", "City"),
    ("st", "State"),
    ("c", "Country code"),
    ("streetAddress", "Street address"),
    ("postalCode", "Zip code"),
    ("mobile", "Mobile phone"),
    ("telephoneNumber", "Work phone"),
];

impl iam::Guest for ActiveDirectory {
    fn describe() -> PluginInfo {
        ilm_plugin_sdk::plugin_info!(COMMANDS)
    }

    fn identify_attributes() -> Vec<String> {
        vec!["sAMAccountName".into()]
    }

    fn find_user(by: Lookup) -> Result<Option<AppUser>, AppError> {
        let dir = Directory::from_params()?;
        let found = match by.attribute.to_ascii_lowercase().as_str() {
            "samaccountname" => dir.find_by_sam(&by.value, &[])?,
            "id" | "objectguid" => dir.find_by_guid(&by.value, &[])?,
            other => {
                return Err(app_error(
                    "400",
                    format!("users are found by sAMAccountName or objectGUID, not {other}"),
                ))
            }
        };
        found.map(|user| dir.app_user(&user)).transpose()
    }

    fn create_user(profile: String) -> Result<AppUser, AppError> {
        let dir = Directory::from_params()?;
        let mapped = Mapped::parse(&profile)?;
        let mut attributes = vec![
            attribute(
                "objectClass",
                USER_CLASSES.iter().map(|c| c.to_string()).collect(),
            ),
            attribute("userAccountControl", vec![DISABLED_ACCOUNT.to_string()]),
        ];
        attributes.extend(
            mapped
                .attributes
                .iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("userAccountControl"))
                .map(|(name, values)| attribute(name, values.clone())),
        );
        if let Some(manager) = manager_dn(&dir, &mapped)? {
            attributes.push(attribute("manager", vec![manager]));
        }
        let dn = add_user(&mapped, &attributes)?;
        ilm_plugin_sdk::info(&format!("created {dn} (disabled)"));
        let user = dir
            .user_at(&dn)?
            .ok_or_else(|| app_error("500", format!("{dn} was created but cannot be read back")))?;
        dir.app_user(&user)
    }

    fn update_user(id: String, profile: String) -> Result<AppUser, AppError> {
        let dir = Directory::from_params()?;
        let mapped = Mapped::parse(&profile)?;
        let names: Vec<&str> = mapped.attributes.iter().map(|(n, _)| n.as_str()).collect();
        let user = dir.user(&id, &names)?;
        check_same_person(&user, &mapped)?;
        let mut changes = mapped.attributes.clone();
        if let Some(manager) = manager_dn(&dir, &mapped)? {
            changes.push(("manager".into(), vec![manager]));
        }
        // One replace per attribute, so one refused value does not block the others.
        let mut failures = Vec::new();
        for (name, values) in changes {
            if user.values(&name) == values.as_slice() {
                continue;
            }
            if let Err(e) = directory::replace(&user.dn, &name, values) {
                failures.push(format!("{name} ({})", e.message));
            }
        }
        let (rdn, parent) = dn::split_rdn(&user.dn);
        if !dn::same_dn(parent, &mapped.ou) {
            match ldap::modify_dn(&user.dn, rdn, Some(&mapped.ou)) {
                Ok(()) => ilm_plugin_sdk::info(&format!("moved {} to {}", user.dn, mapped.ou)),
                Err(e) => failures.push(format!("ou (moving to {}: {})", mapped.ou, e.message)),
            }
        }
        if !failures.is_empty() {
            return Err(app_error(
                "400",
                format!(
                    "Failed to modify the following attributes of {}: {}",
                    user.sam(),
                    failures.join("; ")
                ),
            ));
        }
        dir.app_user(&dir.user(&id, &[])?)
    }

    fn enable_user(id: String) -> Result<AppUser, AppError> {
        set_active(&id, true)
    }

    fn disable_user(id: String) -> Result<AppUser, AppError> {
        set_active(&id, false)
    }

    fn get_mapping_fields() -> Result<Vec<Field>, AppError> {
        Ok(FIELDS
            .iter()
            .map(|(name, description)| Field {
                name: name.to_string(),
                description: description.to_string(),
            })
            .collect())
    }

    fn test_connection() -> Result<(), AppError> {
        let dir = Directory::from_params()?;
        if dir.exists(&dir.base_dn)? {
            Ok(())
        } else {
            Err(app_error(
                "404",
                format!("the base DN {} does not exist", dir.base_dn),
            ))
        }
    }
}

/// Enables (or disables) the account, and takes it out of (or puts it into) the
/// `group-cn` group.
fn set_active(id: &str, active: bool) -> Result<AppUser, AppError> {
    let dir = Directory::from_params()?;
    let user = dir.user(id, &[])?;
    dir.set_disabled(&user, !active)?;
    dir.set_group_membership(&user, !active)?;
    dir.app_user(&dir.user(id, &[])?)
}

fn attribute(name: &str, values: Vec<String>) -> Attribute {
    Attribute {
        name: name.to_owned(),
        values,
    }
}

/// Adds the account at the mapped `dn`, or at `CN=<cn>,<ou>` with the first free suffix
/// 1..=29 when that DN is taken, and returns where it went. Each DN is tried by adding it
/// rather than looked up first: the directory says when it is taken, and a new hire costs
/// one round trip instead of two.
fn add_user(mapped: &Mapped, attributes: &[Attribute]) -> Result<String, AppError> {
    if let Some(dn) = &mapped.dn {
        ldap::add(dn, attributes).map_err(|e| create_failure(dn, mapped, e))?;
        return Ok(dn.clone());
    }
    let Some(cn) = mapped.cn.as_deref().or(mapped.value("displayName")) else {
        return Err(app_error(
            "400",
            format!(
                "the mapped profile of {} has neither cn nor displayName to name the account",
                mapped.sam
            ),
        ));
    };
    for suffix in std::iter::once(String::new()).chain((1..=MAX_CN_SUFFIX).map(|n| n.to_string())) {
        let dn = format!("CN={}{suffix},{}", dn::rdn_value(cn), mapped.ou);
        match ldap::add(&dn, attributes) {
            Ok(()) => return Ok(dn),
            // The DN is taken: the next suffix.
            Err(e) if e.code == "68" && !names_sam_account_name(&e) => {}
            Err(e) => return Err(create_failure(&dn, mapped, e)),
        }
    }
    Err(app_error(
        "409",
        format!(
            "CN={cn} and CN={cn}1 to CN={cn}{MAX_CN_SUFFIX} are all taken in {}",
            mapped.ou
        ),
    ))
}

/// Whether a refused add was refused for its sAMAccountName, which AD names in the text
/// (Samba answers 68, Windows 19), rather than for its DN.
fn names_sam_account_name(e: &AppError) -> bool {
    e.message.to_ascii_lowercase().contains("samaccountname")
}

/// The manager's DN from `manageremail`; a manager without an account is logged and left
/// out, so a new hire is not blocked by their manager's provisioning.
fn manager_dn(dir: &Directory, mapped: &Mapped) -> Result<Option<String>, AppError> {
    let Some(email) = &mapped.manager_email else {
        return Ok(None);
    };
    let found = dir.manager_dn(email)?;
    if found.is_none() {
        ilm_plugin_sdk::log::write(
            ilm_plugin_sdk::log::Level::Warn,
            &format!(
                "no manager account for {email} (sAMAccountName = its local part); {} keeps no manager",
                mapped.sam
            ),
        );
    }
    Ok(found)
}

/// Two people whose emails give the same sAMAccountName must not share one account: an
/// update that would overwrite another employee's account is refused.
fn check_same_person(user: &User, mapped: &Mapped) -> Result<(), AppError> {
    match (user.value("employeeID"), mapped.value("employeeID")) {
        (Some(current), Some(wanted)) if current != wanted => Err(app_error(
            "409",
            format!(
                "the sAMAccountName {} already belongs to employee {current}, not {wanted}: two people map to the same sAMAccountName; change one's email or the samaccountname transformer",
                user.sam()
            ),
        )),
        _ => Ok(()),
    }
}

/// A failed add, with what a person can do about it.
fn create_failure(dn: &str, mapped: &Mapped, e: AppError) -> AppError {
    let hint = match e.code.as_str() {
        "68" | "19" if names_sam_account_name(&e) => format!(
            "the sAMAccountName {} is already used by another directory object",
            mapped.sam
        ),
        "68" => "an entry with this DN already exists".to_owned(),
        // The add is the only check: an OU that is missing is found by it.
        "32" => {
            return app_error(
                "400",
                format!(
                    "the OU {:?} computed for {} does not exist in the directory: create it, or fix its row in playbooks/transformers/ou-mapping.rhai ({})",
                    dn::split_rdn(dn).1,
                    mapped.sam,
                    e.message
                ),
            )
        }
        "50" => format!("the bind account may not create users in {}", mapped.ou),
        "17" | "21" => "the mapper produced an attribute or value AD does not accept".to_owned(),
        _ => "please validate the instance configuration and the mapper".to_owned(),
    };
    app_error(
        e.code,
        format!("creating {dn} failed: {hint} ({})", e.message),
    )
}

impl commands::Guest for ActiveDirectory {
    fn run(name: String, args: String) -> Result<String, AppError> {
        let args = ilm_plugin_sdk::json_object(&args, "the arguments")?;
        let dir = Directory::from_params()?;
        let sam = required(&args, "username")?;
        let user = match ilm_plugin_sdk::param_str(&args, "dn") {
            Some(dn) => dir.user_by_sam_at(&sam, &dn)?,
            None => dir.user_by_sam(&sam)?,
        };
        let message = match name.as_str() {
            "ad-set-new-password" => {
                ldap::set_password(&user.dn, &required(&args, "password")?)
                    .map_err(|e| password_failure(&user, e))?;
                format!("the password of {} was set", user.sam())
            }
            "ad-enable-account" => {
                let uac = dir.set_disabled(&user, false)?;
                format!("{} was enabled (userAccountControl {uac})", user.sam())
            }
            "ad-disable-account" => {
                let uac = dir.set_disabled(&user, true)?;
                format!("{} was disabled (userAccountControl {uac})", user.sam())
            }
            "ad-update-user" => {
                let attribute = required(&args, "attribute-name")?;
                let value = required(&args, "attribute-value")?;
                directory::replace(&user.dn, &attribute, vec![value])?;
                format!("{attribute} of {} was updated", user.sam())
            }
            "ad-expire-password" => {
                // pwdLastSet 0: the user must change the password at the next logon.
                directory::replace(&user.dn, "pwdLastSet", vec!["0".into()])?;
                format!("the password of {} was expired", user.sam())
            }
            other => {
                return Err(app_error(
                    "400",
                    format!("active-directory has no command {other:?}"),
                ))
            }
        };
        Ok(
            json!({"success": true, "username": user.sam(), "dn": user.dn, "message": message})
                .to_string(),
        )
    }
}

/// A non-empty text argument.
fn required(args: &Map<String, Value>, name: &str) -> Result<String, AppError> {
    ilm_plugin_sdk::param_str(args, name)
        .ok_or_else(|| app_error("400", format!("the argument {name} is required")))
}

/// A refused password, with the fix when the domain's policy refused it.
fn password_failure(user: &User, e: AppError) -> AppError {
    if e.code == "19" {
        app_error(
            e.code,
            format!(
                "the domain rejected the new password of {}: it does not meet the domain's length, complexity or history policy; make the password generator's policy (playbooks/transformers/generate-password.rhai) meet the domain's ({})",
                user.sam(),
                e.message
            ),
        )
    } else {
        e
    }
}

impl fetch::Guest for ActiveDirectory {
    fn fetch(_state: String) -> Result<FetchResult, AppError> {
        Err(app_error("unsupported", "active-directory does not fetch"))
    }
}
