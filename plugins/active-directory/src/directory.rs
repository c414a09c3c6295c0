//! The directory as this plugin sees it: users found by sAMAccountName or objectGUID,
//! their userAccountControl flags, and the membership of the `group-cn` group. Every
//! operation goes through the host's `ldap` import, which owns the connection and the bind.

use crate::dn;
use base64::Engine as _;
use ilm_plugin_sdk::ldap::{self, Entry, Modification, ModifyOp, Scope, SearchRequest};
use ilm_plugin_sdk::{app_error, AppError, AppUser};
use serde_json::{Map, Value};

/// userAccountControl's "account disabled" bit.
const ACCOUNTDISABLE: u32 = 0x2;
/// userAccountControl of a normal, enabled account.
pub const NORMAL_ACCOUNT: u32 = 0x200;
/// A normal account, disabled: how new accounts are created.
pub const DISABLED_ACCOUNT: u32 = NORMAL_ACCOUNT | ACCOUNTDISABLE;

/// What a user lookup reads (the details of an app user), beyond what a command asks for.
pub const USER_ATTRIBUTES: &[&str] = &[
    "objectGUID",
    "sAMAccountName",
    "userAccountControl",
    "cn",
    "displayName",
    "givenName",
    "sn",
    "mail",
    "userPrincipalName",
    "title",
    "department",
    "company",
    "employeeID",
    "manager",
    "memberOf",
    "l",
    "c",
    "co",
    "st",
    "streetAddress",
    "postalCode",
    "mobile",
    "telephoneNumber",
    "pwdLastSet",
];

/// The filter every entry matches.
const ANY: &str = "(objectClass=*)";
/// The filter that selects people's accounts (not computers, groups or contacts).
const PERSON: &str = "(&(objectClass=user)(objectCategory=person))";

/// Attributes that are lists in an app user's details even with one value.
const MULTI_VALUED: &[&str] = &["memberOf", "objectClass", "proxyAddresses", "otherMailbox"];

/// One user entry as read.
pub struct User {
    pub dn: String,
    entry: Entry,
}

impl User {
    /// The values of attribute `name` (names compare without case, as in LDAP).
    pub fn values(&self, name: &str) -> &[String] {
        self.entry
            .attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|a| a.values.as_slice())
            .unwrap_or_default()
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.values(name)
            .first()
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn sam(&self) -> &str {
        self.value("sAMAccountName").unwrap_or_default()
    }

    /// The objectGUID in its text form (the host sends it as base64).
    pub fn guid(&self) -> Option<String> {
        let encoded = self.value("objectGUID")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        dn::guid_text(&bytes)
    }

    pub fn uac(&self) -> u32 {
        self.value("userAccountControl")
            .and_then(|v| v.parse().ok())
            .unwrap_or(NORMAL_ACCOUNT)
    }

    /// Active means the disable bit is clear. Every value of the spec's inactive set
    /// (514, 546, 66050, 66082, 262658, 262690, 328226) has that bit, and none of the
    /// active ones (512, 544, 66048) has it.
    pub fn active(&self) -> bool {
        self.uac() & ACCOUNTDISABLE == 0
    }
}

/// The instance's directory: its base DN and the group disabled users join.
pub struct Directory {
    pub base_dn: String,
    group_cn: Option<String>,
}

impl Directory {
    pub fn from_params() -> Result<Self, AppError> {
        let params = ilm_plugin_sdk::params();
        let base_dn = ilm_plugin_sdk::param_str(&params, "base-dn").ok_or_else(|| {
            app_error(
                "400",
                "the instance has no base-dn (e.g. DC=example,DC=test)",
            )
        })?;
        Ok(Self {
            base_dn,
            group_cn: ilm_plugin_sdk::param_str(&params, "group-cn"),
        })
    }

    fn search(
        &self,
        filter: &str,
        attributes: &[&str],
        limit: u32,
    ) -> Result<Vec<Entry>, AppError> {
        ldap::search(&SearchRequest {
            base: self.base_dn.clone(),
            scope: Scope::Subtree,
            filter: filter.to_owned(),
            attributes: attributes.iter().map(|a| a.to_string()).collect(),
            limit,
        })
    }

    /// The one user a filter matches (with USER_ATTRIBUTES and `extra`); more than one is
    /// an error rather than a guess.
    fn find_one(&self, filter: &str, extra: &[&str]) -> Result<Option<User>, AppError> {
        let mut attributes: Vec<&str> = USER_ATTRIBUTES.to_vec();
        attributes.extend(extra.iter().filter(|e| !USER_ATTRIBUTES.contains(e)));
        let mut found = self.search(filter, &attributes, 2)?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop().map(|entry| User {
                dn: entry.dn.clone(),
                entry,
            })),
            _ => Err(app_error(
                "409",
                format!("more than one user matches {filter} under {}", self.base_dn),
            )),
        }
    }

    /// The person whose sAMAccountName is `sam`.
    pub fn find_by_sam(&self, sam: &str, extra: &[&str]) -> Result<Option<User>, AppError> {
        let filter = format!("(&{PERSON}(sAMAccountName={}))", dn::filter_value(sam));
        self.find_one(&filter, extra)
    }

    /// The user whose objectGUID has the text form `guid`.
    pub fn find_by_guid(&self, guid: &str, extra: &[&str]) -> Result<Option<User>, AppError> {
        let value = dn::guid_filter_value(guid).ok_or_else(|| {
            app_error(
                "400",
                format!(
                    "{guid:?} is not an objectGUID (like 01234567-89ab-cdef-0123-456789abcdef)"
                ),
            )
        })?;
        self.find_one(&format!("(&(objectClass=user)(objectGUID={value}))"), extra)
    }

    /// The user with app id `guid`, or a 404.
    pub fn user(&self, guid: &str, extra: &[&str]) -> Result<User, AppError> {
        self.find_by_guid(guid, extra)?
            .ok_or_else(|| app_error("404", format!("no user with objectGUID {guid}")))
    }

    /// The person with sAMAccountName `sam`, or a 404 naming it.
    pub fn user_by_sam(&self, sam: &str) -> Result<User, AppError> {
        self.find_by_sam(sam, &[])?.ok_or_else(|| {
            app_error(
                "404",
                format!("no user with sAMAccountName {sam:?} under {}", self.base_dn),
            )
        })
    }

    /// The person with sAMAccountName `sam`, read at `dn` where the caller knows it (a
    /// create returns it). The DN is only a hint: when it holds no entry or another
    /// account, as after a move or a rename, the user is searched for by `sam`.
    pub fn user_by_sam_at(&self, sam: &str, dn: &str) -> Result<User, AppError> {
        match self.user_at(dn)? {
            Some(user) if user.sam().eq_ignore_ascii_case(sam) => Ok(user),
            _ => self.user_by_sam(sam),
        }
    }

    /// The entry at `dn` with `attributes` if it matches `filter`; `None` when it (or its
    /// parent) is missing or does not match.
    fn read(&self, dn: &str, filter: &str, attributes: &[&str]) -> Result<Option<Entry>, AppError> {
        let found = ldap::search(&SearchRequest {
            base: dn.to_owned(),
            scope: Scope::Base,
            filter: filter.to_owned(),
            attributes: attributes.iter().map(|a| a.to_string()).collect(),
            limit: 1,
        });
        match found {
            Ok(mut entries) => Ok(entries.pop()),
            Err(e) if e.code == "32" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The person at `dn`: a read of one entry, which Samba answered in a fifth of the time
    /// of a search for the sAMAccountName under the base.
    pub fn user_at(&self, dn: &str) -> Result<Option<User>, AppError> {
        Ok(self.read(dn, PERSON, USER_ATTRIBUTES)?.map(|entry| User {
            dn: entry.dn.clone(),
            entry,
        }))
    }

    /// Whether an entry exists at `dn`.
    pub fn exists(&self, dn: &str) -> Result<bool, AppError> {
        Ok(self.read(dn, ANY, &["1.1"])?.is_some())
    }

    /// The DN of the manager named by an email: the user whose sAMAccountName is its local
    /// part. `None` when there is no such user.
    pub fn manager_dn(&self, email: &str) -> Result<Option<String>, AppError> {
        let local = email.split('@').next().unwrap_or_default().trim();
        if local.is_empty() {
            return Ok(None);
        }
        Ok(self.find_by_sam(local, &[])?.map(|u| u.dn))
    }

    /// Sets or clears the disable bit, keeping the account's other flags.
    pub fn set_disabled(&self, user: &User, disabled: bool) -> Result<u32, AppError> {
        let uac = if disabled {
            user.uac() | ACCOUNTDISABLE
        } else {
            user.uac() & !ACCOUNTDISABLE
        };
        replace(&user.dn, "userAccountControl", vec![uac.to_string()]).map_err(|e| {
            if !disabled && matches!(e.code.as_str(), "19" | "53") {
                app_error(
                    e.code,
                    format!(
                        "enabling {} failed: {}. An account without a password cannot be enabled; set one with ad-set-new-password first",
                        user.sam(),
                        e.message
                    ),
                )
            } else {
                e
            }
        })?;
        Ok(uac)
    }

    /// Adds the user to (or removes it from) the `group-cn` group, when one is configured.
    /// Already being (or not being) a member is fine.
    pub fn set_group_membership(&self, user: &User, member: bool) -> Result<(), AppError> {
        let Some(group) = self.group_dn()? else {
            return Ok(());
        };
        let change = Modification {
            op: if member {
                ModifyOp::Add
            } else {
                ModifyOp::Delete
            },
            attribute: "member".into(),
            values: vec![user.dn.clone()],
        };
        match ldap::modify(&group, &[change]) {
            // 20: already a member; 16 and 53: not a member (Samba answers 53 on removal).
            Err(e) if matches!(e.code.as_str(), "20" | "68") && member => Ok(()),
            Err(e) if matches!(e.code.as_str(), "16" | "53") && !member => Ok(()),
            Err(e) => Err(app_error(
                e.code,
                format!(
                    "{} {} the group {group}: {}",
                    if member { "adding" } else { "removing" },
                    user.sam(),
                    e.message
                ),
            )),
            Ok(()) => Ok(()),
        }
    }

    fn group_dn(&self) -> Result<Option<String>, AppError> {
        let Some(cn) = &self.group_cn else {
            return Ok(None);
        };
        let filter = format!("(&(objectClass=group)(cn={}))", dn::filter_value(cn));
        match self.search(&filter, &["1.1"], 1)?.pop() {
            Some(group) => Ok(Some(group.dn)),
            None => Err(app_error(
                "404",
                format!(
                    "the group-cn group {cn:?} does not exist under {}: create it or fix the instance's group-cn",
                    self.base_dn
                ),
            )),
        }
    }

    /// The user as the host sees it: id = objectGUID. The GUID never changes, while the DN
    /// changes on every move and sAMAccountName on a rename, so only the GUID still finds
    /// the account after the update it is returned from.
    pub fn app_user(&self, user: &User) -> Result<AppUser, AppError> {
        let id = user
            .guid()
            .ok_or_else(|| app_error("500", format!("{} has no readable objectGUID", user.dn)))?;
        let mut details = Map::new();
        details.insert("dn".into(), Value::String(user.dn.clone()));
        for attribute in &user.entry.attributes {
            let multi = MULTI_VALUED
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&attribute.name));
            let value = match attribute.values.as_slice() {
                [one] if !multi => Value::String(one.clone()),
                many => Value::from(many.to_vec()),
            };
            details.insert(attribute.name.clone(), value);
        }
        details.insert("objectGUID".into(), Value::String(id.clone()));
        if let Some(manager) = user.value("manager") {
            if let Some(email) = self.mail_of(manager)? {
                details.insert("managerEmail".into(), Value::String(email));
            }
        }
        Ok(AppUser {
            id,
            username: user.sam().to_owned(),
            email: user.value("mail").unwrap_or_default().to_owned(),
            active: user.active(),
            details: Value::Object(details).to_string(),
        })
    }

    /// The mail of the entry at `dn` (a manager deleted since is simply none).
    fn mail_of(&self, dn: &str) -> Result<Option<String>, AppError> {
        Ok(self
            .read(dn, ANY, &["mail"])?
            .into_iter()
            .flat_map(|e| e.attributes)
            .find(|a| a.name.eq_ignore_ascii_case("mail"))
            .and_then(|a| a.values.into_iter().next()))
    }
}

/// Replaces one attribute of `dn`.
pub fn replace(dn: &str, attribute: &str, values: Vec<String>) -> Result<(), AppError> {
    ldap::modify(
        dn,
        &[Modification {
            op: ModifyOp::Replace,
            attribute: attribute.to_owned(),
            values,
        }],
    )
}
