//! The tenant model: users, DS100 OTP credentials and SID700 hardware tokens,
//! loaded from a JSON seed (see `samples/tenant.json`) and changed by the
//! handlers. Every rule about what exists and who owns what lives here, so the
//! handlers only translate between HTTP and these calls.
//!
//! User status, deletion, pending deletion and the purge live in
//! `state::users`, SID700 PIN, status and assignment in `state::sid`, a
//! user's authenticators in `state::devices`.
//!
//! Serials are text everywhere: `014010008031` and `140100080` keep their
//! leading zeros, and a token serial is never compared as a number.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

mod devices;
mod sid;
mod users;

/// The seed file's shape. Generated tenants use it too, so there is one way
/// into [`Tenant`] and one set of checks.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TenantSeed {
    #[serde(default)]
    pub customer_name: String,
    pub users: Vec<User>,
    #[serde(default)]
    pub ds100: Vec<Ds100Credential>,
    #[serde(default)]
    pub sid_tokens: Vec<SidToken>,
}

/// A user; serialised as the `users/lookup` answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct User {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Enabled` or `Disabled`; only a disabled user can be deleted.
    #[serde(default = "enabled")]
    pub user_status: String,
    /// Where the user comes from; a SCIM source (`SCIM Managed`, `Azure AD
    /// (SCIM)`) refuses deletion here with 405.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_source: Option<String>,
    /// Pending deletion (the console's delete): the user still answers
    /// lookups, with `markDeleted: true`, until the purge.
    #[serde(default)]
    pub mark_deleted: bool,
    /// When a pending user is purged; `None` for a user marked in the seed,
    /// which stays pending.
    #[serde(skip)]
    pub purge_at: Option<std::time::SystemTime>,
}

impl User {
    /// An enabled user from no particular identity source.
    pub fn new(id: impl Into<String>, email: impl Into<String>) -> User {
        User {
            id: id.into(),
            email: email.into(),
            first_name: String::new(),
            last_name: String::new(),
            username: None,
            user_status: ENABLED.to_string(),
            identity_source: None,
            mark_deleted: false,
            purge_at: None,
        }
    }
}

pub(crate) const ENABLED: &str = "Enabled";
/// The vendor's seven days between marking a user deleted and the purge.
pub(crate) const PURGE_AFTER: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);
pub(crate) const DISABLED: &str = "Disabled";

/// One OTP credential of a DS100 device. A device can carry several, for one
/// or more users; the token serial identifies the credential.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Ds100Credential {
    pub token_serial_number: String,
    pub device_serial_number: String,
    pub user_id: String,
    #[serde(default = "enabled")]
    pub token_status: String,
    #[serde(default)]
    pub pin_set: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_status_changed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_status_changed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_at: Option<String>,
}

fn enabled() -> String {
    ENABLED.to_string()
}

/// A SID700 hardware token, assigned to a user or not.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SidToken {
    pub token_serial_number: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub pin_set: bool,
    #[serde(default = "enabled")]
    pub token_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_at: Option<String>,
}

/// Why the tenant refuses a well-formed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 404: the user or the authenticator does not exist (for this user).
    NotFound(String),
    /// 409: the SID700 token exists but is not assigned to this user, or
    /// the user is still enabled.
    Conflict(String),
    /// 405: the user comes from a SCIM identity source.
    NotAllowed(String),
    /// 400: a well-formed body with a value the tenant does not take.
    BadRequest(String),
}

/// Who changed a credential and when, as the disable answer reports it.
pub(crate) struct Change<'a> {
    pub at: &'a str,
    pub by: &'a str,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Tenant {
    users: HashMap<String, User>,
    /// Lower-cased email to user id: the lookup ignores case.
    emails: HashMap<String, String>,
    /// Lower-cased username to user id.
    usernames: HashMap<String, String>,
    /// By token serial; ordered so lookups and exports are stable.
    ds100: BTreeMap<String, Ds100Credential>,
    /// Device serial to the token serials on it: disable and lookup go by
    /// device, and a scan of every credential per request would make a
    /// run against a large generated tenant quadratic.
    by_device: HashMap<String, BTreeSet<String>>,
    sid: BTreeMap<String, SidToken>,
    /// How long a user marked deleted is kept before the purge.
    pub purge_after: std::time::Duration,
    /// No purge is due before this (a scan of every user per request would
    /// slow a large generated tenant).
    next_purge: Option<std::time::SystemTime>,
}

impl Tenant {
    /// Builds the tenant, refusing duplicates and dangling user references
    /// so a typo in a seed file is reported instead of served.
    pub fn from_seed(seed: TenantSeed) -> Result<Tenant, String> {
        let mut tenant = Tenant {
            purge_after: PURGE_AFTER,
            ..Tenant::default()
        };
        for user in seed.users {
            tenant.add_user(user)?;
        }
        for cred in seed.ds100 {
            tenant.add_ds100(cred)?;
        }
        for token in seed.sid_tokens {
            tenant.add_sid(token)?;
        }
        Ok(tenant)
    }

    fn add_user(&mut self, user: User) -> Result<(), String> {
        if user.id.is_empty() {
            return Err("a user has an empty id".into());
        }
        let email = user.email.to_lowercase();
        if self.emails.insert(email, user.id.clone()).is_some() {
            return Err(format!("email {:?} is used twice", user.email));
        }
        if user.user_status != ENABLED && user.user_status != DISABLED {
            return Err(format!(
                "user {}: userStatus must be Enabled or Disabled",
                user.id
            ));
        }
        if let Some(name) = &user.username {
            if self
                .usernames
                .insert(name.to_lowercase(), user.id.clone())
                .is_some()
            {
                return Err(format!("username {name:?} is used twice"));
            }
        }
        match self.users.insert(user.id.clone(), user) {
            Some(dup) => Err(format!("user id {:?} is used twice", dup.id)),
            None => Ok(()),
        }
    }

    fn add_ds100(&mut self, cred: Ds100Credential) -> Result<(), String> {
        let serial = &cred.token_serial_number;
        if serial.is_empty() || cred.device_serial_number.is_empty() {
            return Err("a ds100 credential has an empty serial number".into());
        }
        self.require_user(&cred.user_id, serial)?;
        if cred.token_status != ENABLED && cred.token_status != DISABLED {
            return Err(format!(
                "ds100 credential {serial}: tokenStatus must be Enabled or Disabled"
            ));
        }
        if self.ds100.contains_key(serial) {
            return Err(format!("ds100 token serial {serial} is used twice"));
        }
        self.by_device
            .entry(cred.device_serial_number.clone())
            .or_default()
            .insert(serial.clone());
        self.ds100.insert(serial.clone(), cred);
        Ok(())
    }

    fn add_sid(&mut self, token: SidToken) -> Result<(), String> {
        let serial = &token.token_serial_number;
        if serial.is_empty() {
            return Err("a SID700 token has an empty serial number".into());
        }
        if let Some(user) = &token.user_id {
            self.require_user(user, serial)?;
        }
        if self.sid.contains_key(serial) {
            return Err(format!("SID700 token serial {serial} is used twice"));
        }
        self.sid.insert(serial.clone(), token);
        Ok(())
    }

    fn require_user(&self, user_id: &str, serial: &str) -> Result<(), String> {
        if self.users.contains_key(user_id) {
            Ok(())
        } else {
            Err(format!(
                "token {serial} belongs to unknown user {user_id:?}"
            ))
        }
    }

    fn known_user(&self, user_id: &str) -> Result<(), Refusal> {
        if self.users.contains_key(user_id) {
            Ok(())
        } else {
            Err(Refusal::NotFound(format!("user {user_id} does not exist")))
        }
    }

    /// Clears the PIN of a DS100 credential the user owns.
    pub fn clear_ds100_pin(&mut self, user_id: &str, token: &str) -> Result<(), Refusal> {
        self.known_user(user_id)?;
        match self.ds100.get_mut(token) {
            Some(cred) if cred.user_id == user_id => {
                cred.pin_set = false;
                Ok(())
            }
            Some(_) => Err(Refusal::NotFound(format!(
                "DS100 credential {token} is not assigned to user {user_id}"
            ))),
            None => Err(Refusal::NotFound(format!(
                "DS100 credential {token} does not exist"
            ))),
        }
    }

    /// Enables or disables every credential of the user on the device and
    /// returns them. Setting the status a credential already has succeeds
    /// again (and restamps it).
    pub fn set_ds100_status(
        &mut self,
        user_id: &str,
        device: &str,
        enable: bool,
        change: &Change<'_>,
    ) -> Result<Vec<Ds100Credential>, Refusal> {
        self.known_user(user_id)?;
        let status = if enable { ENABLED } else { DISABLED };
        let mut changed = Vec::new();
        for serial in self.by_device.get(device).into_iter().flatten() {
            let Some(cred) = self.ds100.get_mut(serial) else {
                continue;
            };
            if cred.user_id == user_id {
                cred.token_status = status.to_string();
                cred.token_status_changed_at = Some(change.at.to_string());
                cred.token_status_changed_by = Some(change.by.to_string());
                changed.push(cred.clone());
            }
        }
        if changed.is_empty() {
            return Err(Refusal::NotFound(format!(
                "user {user_id} has no DS100 credential on device {device}"
            )));
        }
        Ok(changed)
    }

    /// Deletes one credential, named by token, device and user together.
    pub fn delete_ds100(
        &mut self,
        user_id: &str,
        token: &str,
        device: &str,
    ) -> Result<(), Refusal> {
        self.known_user(user_id)?;
        let matches = self
            .ds100
            .get(token)
            .is_some_and(|c| c.user_id == user_id && c.device_serial_number == device);
        if !matches {
            return Err(Refusal::NotFound(format!(
                "user {user_id} has no DS100 credential {token} on device {device}"
            )));
        }
        self.remove_ds100(token, device);
        Ok(())
    }

    fn remove_ds100(&mut self, token: &str, device: &str) {
        self.ds100.remove(token);
        if let Some(serials) = self.by_device.get_mut(device) {
            serials.remove(token);
            if serials.is_empty() {
                self.by_device.remove(device);
            }
        }
    }

    /// Every credential on a device, whoever owns it.
    pub fn lookup_device(&self, device: &str) -> Vec<Ds100Credential> {
        let serials = self.by_device.get(device).into_iter().flatten();
        serials
            .filter_map(|serial| self.ds100.get(serial))
            .cloned()
            .collect()
    }

    pub fn lookup_email(&self, email: &str) -> Option<User> {
        let id = self.emails.get(&email.to_lowercase())?;
        self.users.get(id).cloned()
    }

    pub fn lookup_username(&self, username: &str) -> Option<User> {
        let id = self.usernames.get(&username.to_lowercase())?;
        self.users.get(id).cloned()
    }

    pub fn ds100_credentials(&self) -> impl Iterator<Item = &Ds100Credential> {
        self.ds100.values()
    }

    /// Every user, by id.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        let mut users: Vec<&User> = self.users.values().collect();
        users.sort_by(|a, b| a.id.cmp(&b.id));
        users.into_iter()
    }

    pub fn sid_tokens(&self) -> impl Iterator<Item = &SidToken> {
        self.sid.values()
    }

    /// The distinct (user, device) pairs, in token serial order.
    pub fn ds100_user_devices(&self) -> Vec<(&str, &str)> {
        let mut seen = HashSet::new();
        self.ds100
            .values()
            .map(|c| (c.user_id.as_str(), c.device_serial_number.as_str()))
            .filter(|pair| seen.insert(*pair))
            .collect()
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const ALICE: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";
    const BOB: &str = "ece30fe9-414c-7536-5403-0656220b3046";

    pub(in crate::mock::state) fn tenant() -> Tenant {
        let seed: TenantSeed = serde_json::from_str(super::super::options::SAMPLE_TENANT).unwrap();
        Tenant::from_seed(seed).unwrap()
    }

    #[test]
    fn sample_tenant_loads() {
        let t = tenant();
        assert!(t.user_count() >= 10);
        assert!(t.lookup_device("140100080").len() >= 2);
    }

    #[test]
    fn ds100_pin_needs_the_owner() {
        let mut t = tenant();
        assert_eq!(t.clear_ds100_pin(ALICE, "014010008038"), Ok(()));
        assert!(matches!(
            t.clear_ds100_pin(BOB, "014010008038"),
            Err(Refusal::NotFound(_))
        ));
        assert!(matches!(
            t.clear_ds100_pin(ALICE, "14010008038"),
            Err(Refusal::NotFound(_))
        ));
    }

    #[test]
    fn delete_is_gone_after_the_first_time() {
        let mut t = tenant();
        assert_eq!(t.delete_ds100(ALICE, "014010008038", "140100080"), Ok(()));
        assert!(t.delete_ds100(ALICE, "014010008038", "140100080").is_err());
        assert!(t.delete_ds100(ALICE, "014010008039", "140100081").is_err());
    }

    #[test]
    fn disable_stamps_each_credential() {
        let mut t = tenant();
        let change = Change {
            at: "2022-05-24T084041.067Z",
            by: "admin",
        };
        let out = t
            .set_ds100_status(ALICE, "140100080", false, &change)
            .unwrap();
        assert_eq!(out.len(), 2);
        assert!(out
            .iter()
            .all(|c| c.token_status == DISABLED && c.user_id == ALICE));
        assert!(t
            .set_ds100_status(ALICE, "140100080", false, &change)
            .is_ok());
        assert!(t
            .set_ds100_status(ALICE, "999999999", false, &change)
            .is_err());
    }

    #[test]
    fn seed_errors_are_reported() {
        let dup = TenantSeed {
            customer_name: String::new(),
            users: vec![User::new("a", "x@e"), User::new("b", "X@E")],
            ds100: vec![],
            sid_tokens: vec![],
        };
        assert!(Tenant::from_seed(dup).unwrap_err().contains("used twice"));
    }
}
