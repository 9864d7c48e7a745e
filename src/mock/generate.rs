//! Deterministic generated tenants (`--users N --seed S`): the same N and S
//! always give the same users, devices and tokens, so a benchmark or a test
//! can export its CSVs once and replay them against a fresh mock.
//!
//! Shape: every user owns one DS100 device carrying one or two OTP
//! credentials; about nine users in ten own a SID700 token; one extra
//! unassigned SID700 token per ten users. Every tenth device serial starts
//! with a 0 and every SID700 serial is zero-padded, so leading zeros are
//! exercised at scale too.

use std::collections::HashSet;

use super::state::{Ds100Credential, SidToken, TenantSeed, User, ENABLED};

pub(crate) fn generate(users: usize, seed: u64) -> TenantSeed {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut tenant = TenantSeed {
        customer_name: format!("generated-{seed}"),
        users: Vec::with_capacity(users),
        ds100: Vec::with_capacity(users + users / 4),
        sid_tokens: Vec::with_capacity(users + users / 10),
    };
    let mut ids = HashSet::with_capacity(users);
    for index in 0..users {
        let user = new_user(&mut rng, &mut ids, index);
        add_device(&mut rng, &mut tenant, &user.id, index);
        if rng.u8(0..10) < 9 {
            tenant.sid_tokens.push(SidToken {
                token_serial_number: format!("{:012}", 10_000_000 + index),
                user_id: Some(user.id.clone()),
                pin_set: rng.bool(),
                token_status: ENABLED.to_string(),
                assigned_at: None,
            });
        }
        tenant.users.push(user);
    }
    for index in 0..users / 10 {
        tenant.sid_tokens.push(SidToken {
            token_serial_number: format!("{:012}", 90_000_000 + index),
            user_id: None,
            pin_set: false,
            token_status: ENABLED.to_string(),
            assigned_at: None,
        });
    }
    tenant
}

fn new_user(rng: &mut fastrand::Rng, ids: &mut HashSet<String>, index: usize) -> User {
    // A collision of 128 random bits will not happen, but a duplicate id
    // would make the seed invalid, so draw again rather than trust luck.
    let id = loop {
        let candidate = uuid_like(rng.u128(..));
        if ids.insert(candidate.clone()) {
            break candidate;
        }
    };
    User {
        first_name: "User".into(),
        last_name: format!("{index:06}"),
        ..User::new(id, format!("user{index:06}@generated.example"))
    }
}

fn add_device(rng: &mut fastrand::Rng, tenant: &mut TenantSeed, user_id: &str, index: usize) {
    let device = if index % 10 == 0 {
        format!("0{:08}", 40_000_000 + index)
    } else {
        format!("{:09}", 140_000_000 + index)
    };
    let credentials = if rng.u8(0..4) == 0 { 2 } else { 1 };
    for slot in 0..credentials {
        tenant.ds100.push(Ds100Credential {
            // The vendor's pattern: "0" + device serial + two digits.
            token_serial_number: format!("0{device}{}", 31 + slot),
            device_serial_number: device.clone(),
            user_id: user_id.to_string(),
            token_status: ENABLED.to_string(),
            pin_set: rng.bool(),
            token_status_changed_at: None,
            token_status_changed_by: None,
            assigned_at: None,
        });
    }
}

/// Formats 128 bits as 8-4-4-4-12 lower-case hex, like the tenant's ids.
pub(crate) fn uuid_like(bits: u128) -> String {
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::super::state::Tenant;
    use super::*;

    #[test]
    fn same_seed_same_tenant() {
        assert_eq!(generate(200, 7), generate(200, 7));
        assert_ne!(generate(200, 7), generate(200, 8));
    }

    #[test]
    fn generated_tenant_is_valid_and_sized() {
        let seed = generate(1000, 3);
        assert_eq!(seed.users.len(), 1000);
        assert!(seed.ds100.len() >= 1000);
        assert!(seed.sid_tokens.iter().any(|t| t.user_id.is_none()));
        assert!(seed
            .ds100
            .iter()
            .any(|c| c.device_serial_number.starts_with('0')));
        let tenant = Tenant::from_seed(seed).unwrap();
        assert_eq!(tenant.user_count(), 1000);
    }

    #[test]
    fn ids_look_like_the_tenants() {
        let id = uuid_like(0x87927fb7_e185_4c33_c7e3_8e077675973c);
        assert_eq!(id, "87927fb7-e185-4c33-c7e3-8e077675973c");
        assert_eq!(uuid_like(1).len(), 36);
    }
}
