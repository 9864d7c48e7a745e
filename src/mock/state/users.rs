//! A user's status and deletion. Deletion follows the vendor's pages: only a
//! disabled user can be deleted now (409 otherwise, and for a user pending
//! deletion), a user from a SCIM identity source is deleted at the source
//! (405), and a deleted user's authenticators go with it. Marking a user
//! deleted (the console's delete) keeps the user, pending deletion, until
//! the purge [`Tenant::purge_after`] later; marking a marked user, taking
//! back a mark that is not there and (this tenant's guess, unconfirmed)
//! marking an enabled user are refused with 409.

use std::time::SystemTime;

use super::{Refusal, Tenant, User, DISABLED, ENABLED};

impl Tenant {
    /// Sets the user's status. Setting the status the user already has
    /// succeeds again.
    pub fn set_user_status(&mut self, user_id: &str, status: &str) -> Result<User, Refusal> {
        if status != ENABLED && status != DISABLED {
            return Err(Refusal::BadRequest(format!(
                "userStatus must be Enabled or Disabled, not {status:?}"
            )));
        }
        let user = self.user_mut(user_id)?;
        user.user_status = status.to_string();
        Ok(user.clone())
    }

    /// Deletes a disabled user now, with the user's DS100 credentials; the
    /// user's SID700 tokens become unassigned.
    pub fn delete_user(&mut self, user_id: &str) -> Result<(), Refusal> {
        let user = self.user_mut(user_id)?;
        refuse_scim(user)?;
        if user.user_status != DISABLED {
            return Err(Refusal::Conflict(format!(
                "user {user_id} is enabled; disable the user before deleting"
            )));
        }
        if user.mark_deleted {
            return Err(Refusal::Conflict(format!(
                "user {user_id} is pending deletion"
            )));
        }
        self.remove_user(user_id);
        Ok(())
    }

    /// Marks a disabled user deleted (`mark`), to be purged at `now` plus
    /// [`Tenant::purge_after`], or takes the mark back.
    pub fn mark_deleted(
        &mut self,
        user_id: &str,
        mark: bool,
        now: SystemTime,
    ) -> Result<User, Refusal> {
        let purge_at = now + self.purge_after;
        let user = self.user_mut(user_id)?;
        refuse_scim(user)?;
        match (mark, user.mark_deleted) {
            (true, true) => Err(format!("user {user_id} is already pending deletion")),
            (false, false) => Err(format!("user {user_id} is not pending deletion")),
            (true, false) if user.user_status != DISABLED => Err(format!(
                "user {user_id} is enabled; disable the user before marking it deleted"
            )),
            _ => Ok(()),
        }
        .map_err(Refusal::Conflict)?;
        user.mark_deleted = mark;
        user.purge_at = mark.then_some(purge_at);
        let user = user.clone();
        if mark {
            self.next_purge = Some(self.next_purge.map_or(purge_at, |at| at.min(purge_at)));
        }
        Ok(user)
    }

    /// Removes every pending user whose purge is due at `now`; how many.
    pub fn purge_due(&mut self, now: SystemTime) -> usize {
        if self.next_purge.is_none_or(|at| at > now) {
            return 0;
        }
        self.next_purge = self
            .users
            .values()
            .filter_map(|u| u.purge_at)
            .filter(|at| *at > now)
            .min();
        let due: Vec<String> = self
            .users
            .values()
            .filter(|u| u.purge_at.is_some_and(|at| at <= now))
            .map(|u| u.id.clone())
            .collect();
        for user_id in &due {
            self.remove_user(user_id);
        }
        due.len()
    }

    /// Removes the user, the user's DS100 credentials and SID700
    /// assignments.
    fn remove_user(&mut self, user_id: &str) {
        let Some(user) = self.users.remove(user_id) else {
            return;
        };
        self.emails.remove(&user.email.to_lowercase());
        if let Some(name) = &user.username {
            self.usernames.remove(&name.to_lowercase());
        }
        let owned: Vec<(String, String)> = self
            .ds100
            .values()
            .filter(|c| c.user_id == user_id)
            .map(|c| {
                (
                    c.token_serial_number.clone(),
                    c.device_serial_number.clone(),
                )
            })
            .collect();
        for (token, device) in owned {
            self.remove_ds100(&token, &device);
        }
        for token in self.sid.values_mut() {
            if token.user_id.as_deref() == Some(user_id) {
                token.user_id = None;
            }
        }
    }

    fn user_mut(&mut self, user_id: &str) -> Result<&mut User, Refusal> {
        self.users
            .get_mut(user_id)
            .ok_or_else(|| Refusal::NotFound(format!("User {user_id} not found")))
    }
}

fn is_scim(source: &str) -> bool {
    source.to_ascii_uppercase().contains("SCIM")
}

/// A user of a SCIM identity source is deleted (or kept) at the source.
fn refuse_scim(user: &User) -> Result<(), Refusal> {
    match user.identity_source.as_deref().filter(|s| is_scim(s)) {
        Some(source) => Err(Refusal::NotAllowed(format!(
            "user {} comes from the identity source {source:?}; delete the user there",
            user.id
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::tenant;
    use super::*;

    const ALICE: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";
    const SCIM_USER: &str = "e4d5e6f7-8a9b-4d0e-9f1a-2b3c4d5e6f70";

    #[test]
    fn only_a_disabled_user_is_deleted_and_takes_its_tokens() {
        let mut t = tenant();
        assert!(matches!(t.delete_user(ALICE), Err(Refusal::Conflict(_))));
        t.set_user_status(ALICE, DISABLED).unwrap();
        assert_eq!(t.delete_user(ALICE), Ok(()));
        assert!(t.lookup_email("alice.martin@acme.example").is_none());
        assert!(t.ds100_credentials().all(|c| c.user_id != ALICE));
        assert!(matches!(t.delete_user(ALICE), Err(Refusal::NotFound(_))));
    }

    #[test]
    fn a_scim_user_is_deleted_at_the_source() {
        let mut t = tenant();
        t.set_user_status(SCIM_USER, DISABLED).unwrap();
        assert!(matches!(
            t.delete_user(SCIM_USER),
            Err(Refusal::NotAllowed(_))
        ));
    }

    #[test]
    fn a_marked_user_stays_pending_until_the_purge() {
        let mut t = tenant();
        let now = SystemTime::now();
        let email = "alice.martin@acme.example";
        assert!(matches!(
            t.mark_deleted(ALICE, true, now),
            Err(Refusal::Conflict(_))
        ));
        t.set_user_status(ALICE, DISABLED).unwrap();
        assert!(matches!(
            t.mark_deleted(ALICE, false, now),
            Err(Refusal::Conflict(_))
        ));
        assert!(t.mark_deleted(ALICE, true, now).unwrap().mark_deleted);
        assert!(matches!(
            t.mark_deleted(ALICE, true, now),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(t.delete_user(ALICE), Err(Refusal::Conflict(_))));
        assert!(t.lookup_email(email).unwrap().mark_deleted);
        let week = t.purge_after;
        assert_eq!(t.purge_due(now + week / 2), 0);
        assert!(!t.mark_deleted(ALICE, false, now).unwrap().mark_deleted);
        assert_eq!(t.purge_due(now + week * 2), 0, "taken back: never purged");
        t.mark_deleted(ALICE, true, now).unwrap();
        assert_eq!(t.purge_due(now + week), 1);
        assert!(t.lookup_email(email).is_none());
        assert!(matches!(
            t.mark_deleted(SCIM_USER, true, now),
            Err(Refusal::NotAllowed(_))
        ));
    }
}
