//! SID700 PIN, status and assignment: only a token assigned to the user can
//! have its PIN cleared, be enabled, disabled or unassigned (409 otherwise);
//! an unassigned token no longer belongs to anyone, so later calls for its
//! former user get 409, and only an unassigned token can be assigned (409
//! for one assigned to anyone: this tenant's reading of the page's 409).

use super::{Refusal, SidToken, Tenant, DISABLED, ENABLED};

impl Tenant {
    /// Enables or disables a token assigned to the user. Setting the status
    /// the token already has succeeds again.
    pub fn set_sid_status(
        &mut self,
        user_id: &str,
        token: &str,
        enable: bool,
    ) -> Result<SidToken, Refusal> {
        let sid = self.assigned_sid(user_id, token)?;
        sid.token_status = if enable { ENABLED } else { DISABLED }.to_string();
        Ok(sid.clone())
    }

    /// Takes the token away from the user.
    pub fn unassign_sid(&mut self, user_id: &str, token: &str) -> Result<SidToken, Refusal> {
        let sid = self.assigned_sid(user_id, token)?;
        sid.user_id = None;
        sid.assigned_at = None;
        Ok(sid.clone())
    }

    /// Assigns an unassigned token to the user, stamped `at`.
    pub fn assign_sid(
        &mut self,
        user_id: &str,
        token: &str,
        at: &str,
    ) -> Result<SidToken, Refusal> {
        self.known_user(user_id)?;
        let Some(sid) = self.sid.get_mut(token) else {
            return Err(Refusal::NotFound(format!(
                "hardware token {token} does not exist"
            )));
        };
        if let Some(owner) = &sid.user_id {
            return Err(Refusal::Conflict(format!(
                "hardware token {token} is already assigned to user {owner}"
            )));
        }
        sid.user_id = Some(user_id.to_owned());
        sid.assigned_at = Some(at.to_owned());
        Ok(sid.clone())
    }

    /// Clears the PIN of a token assigned to the user.
    pub fn clear_sid_pin(&mut self, user_id: &str, token: &str) -> Result<(), Refusal> {
        let sid = self.assigned_sid(user_id, token)?;
        sid.pin_set = false;
        Ok(())
    }

    pub fn lookup_sid(&self, token: &str) -> Option<SidToken> {
        self.sid.get(token).cloned()
    }

    fn assigned_sid(&mut self, user_id: &str, token: &str) -> Result<&mut SidToken, Refusal> {
        self.known_user(user_id)?;
        let Some(sid) = self.sid.get_mut(token) else {
            return Err(Refusal::NotFound(format!(
                "hardware token {token} does not exist"
            )));
        };
        if sid.user_id.as_deref() != Some(user_id) {
            return Err(Refusal::Conflict(format!(
                "hardware token {token} is not assigned to user {user_id}"
            )));
        }
        Ok(sid)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::tenant;
    use super::*;

    const CAROL: &str = "eb2e12ae-1112-451b-98e1-dfe4e6afd60d";

    #[test]
    fn unassigned_tokens_no_longer_answer_for_their_user() {
        let mut t = tenant();
        let off = t.set_sid_status(CAROL, "1231314525", false).unwrap();
        assert_eq!(off.token_status, DISABLED);
        assert!(t.set_sid_status(CAROL, "1231314525", false).is_ok());
        assert!(t.unassign_sid(CAROL, "1231314525").is_ok());
        assert!(matches!(
            t.set_sid_status(CAROL, "1231314525", true),
            Err(Refusal::Conflict(_))
        ));
        assert_eq!(t.lookup_sid("1231314525").unwrap().user_id, None);
        assert!(matches!(
            t.unassign_sid(CAROL, "999"),
            Err(Refusal::NotFound(_))
        ));
    }

    #[test]
    fn only_an_unassigned_token_is_assigned() {
        let mut t = tenant();
        let at = "2026-01-01T00:00:00.000Z";
        assert!(matches!(
            t.assign_sid(CAROL, "1231314525", at),
            Err(Refusal::Conflict(_))
        ));
        t.unassign_sid(CAROL, "1231314525").unwrap();
        let back = t.assign_sid(CAROL, "1231314525", at).unwrap();
        assert_eq!(back.user_id.as_deref(), Some(CAROL));
        assert!(t.set_sid_status(CAROL, "1231314525", true).is_ok());
        assert!(matches!(
            t.assign_sid(CAROL, "999", at),
            Err(Refusal::NotFound(_))
        ));
    }
}
