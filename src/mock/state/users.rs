//! A user's status and deletion. Deletion follows the vendor's page: only a
//! disabled user can be deleted (409 otherwise), a user from a SCIM identity
//! source is deleted at the source (405), and a deleted user's
//! authenticators go with it.

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
        if let Some(source) = user.identity_source.as_deref().filter(|s| is_scim(s)) {
            return Err(Refusal::NotAllowed(format!(
                "user {user_id} comes from the identity source {source:?}; delete the user there"
            )));
        }
        if user.user_status != DISABLED {
            return Err(Refusal::Conflict(format!(
                "user {user_id} is enabled; disable the user before deleting"
            )));
        }
        let Some(user) = self.users.remove(user_id) else {
            return Ok(());
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
        Ok(())
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
}
