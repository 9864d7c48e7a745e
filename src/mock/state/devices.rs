//! A user's authenticators as `GET /v2/users/<id>/devices` lists them. The
//! vendor's page shows no field names, so the shape here is this tenant's
//! guess: one record per DS100 credential or SID700 token, with the fields
//! the lookups use.

use serde::Serialize;

use super::{Refusal, Tenant};

pub(crate) const DS100_TYPE: &str = "SecurID DS100";
pub(crate) const SID700_TYPE: &str = "SID700";

/// One authenticator of a user.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Device {
    pub device_type: &'static str,
    pub token_serial_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_serial_number: Option<String>,
    pub token_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_at: Option<String>,
}

impl Tenant {
    /// The user's DS100 credentials, then SID700 tokens, each by serial.
    pub fn devices(&self, user_id: &str) -> Result<Vec<Device>, Refusal> {
        self.known_user(user_id)?;
        let ds100 = self
            .ds100
            .values()
            .filter(|c| c.user_id == user_id)
            .map(|c| Device {
                device_type: DS100_TYPE,
                token_serial_number: c.token_serial_number.clone(),
                device_serial_number: Some(c.device_serial_number.clone()),
                token_status: c.token_status.clone(),
                assigned_at: c.assigned_at.clone(),
            });
        let sid = self
            .sid
            .values()
            .filter(|t| t.user_id.as_deref() == Some(user_id))
            .map(|t| Device {
                device_type: SID700_TYPE,
                token_serial_number: t.token_serial_number.clone(),
                device_serial_number: None,
                token_status: t.token_status.clone(),
                assigned_at: t.assigned_at.clone(),
            });
        Ok(ds100.chain(sid).collect())
    }
}
