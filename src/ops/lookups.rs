//! The lookup catalog: tenant calls that change nothing and turn what admins
//! have at hand (an email address, the serial printed on a device) into what
//! the operations need (a user ID, a token serial). Like operations, lookups
//! are data: a method, a path, the field sent as the body, and how to read
//! the answer. An operation lists which of its required fields a lookup may
//! fill in ([`Resolver`]), so adding a resolver is adding an entry.

use serde_json::Value;

use super::{Field, HttpMethod};

/// One lookup call.
#[derive(Debug)]
pub struct Lookup {
    /// The request kind, as the simulated tenant counts it.
    pub name: &'static str,
    pub method: HttpMethod,
    /// Path under the tenant root.
    pub path: &'static str,
    /// The row value sent as the JSON body `{"<key>": "<value>"}`.
    pub key: Field,
    pub answer: Answer,
    /// The meaning of each status code, for messages.
    pub codes: &'static [(u16, &'static str)],
    /// The OAuth permission the call needs.
    pub permission: &'static str,
}

/// Where the wanted value sits in a lookup's 200 answer.
#[derive(Debug)]
pub enum Answer {
    /// The answer is one object; the value is this member.
    Member(&'static str),
    /// The answer is a list of objects (one object counts as a list of
    /// one); the value is `member` of the object whose `owner` member equals
    /// the row's `owner_field`.
    OwnedBy {
        member: &'static str,
        owner: &'static str,
        owner_field: Field,
    },
}

/// A required field that a lookup can fill in when the row leaves it empty.
#[derive(Debug, Clone, Copy)]
pub struct Resolver {
    pub field: Field,
    pub lookup: &'static Lookup,
}

impl Lookup {
    /// The documented meaning of a status code, if there is one.
    pub fn explain(&self, status: u16) -> Option<&'static str> {
        self.codes
            .iter()
            .find(|(code, _)| *code == status)
            .map(|(_, meaning)| *meaning)
    }

    /// Reads the wanted value for one row out of a 200 answer. `row` gives
    /// the row's (possibly already resolved) values. The error is a message
    /// for the row.
    pub fn pick<'a>(
        &self,
        answer: &Value,
        row: impl Fn(Field) -> Option<&'a str>,
    ) -> Result<String, String> {
        match &self.answer {
            Answer::Member(member) => text(answer, member)
                .map(str::to_owned)
                .ok_or_else(|| format!("the tenant's answer has no {member}")),
            Answer::OwnedBy {
                member,
                owner,
                owner_field,
            } => {
                let wanted_owner = row(*owner_field)
                    .ok_or_else(|| format!("no {owner_field} to choose a credential by"))?;
                pick_owned(answer, member, owner, wanted_owner)
            }
        }
    }
}

fn text<'v>(object: &'v Value, member: &str) -> Option<&'v str> {
    object.get(member).and_then(Value::as_str)
}

fn pick_owned(answer: &Value, member: &str, owner: &str, wanted: &str) -> Result<String, String> {
    let items: Vec<&Value> = match answer {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut values: Vec<&str> = items
        .iter()
        .filter(|item| text(item, owner).is_some_and(|o| o.eq_ignore_ascii_case(wanted)))
        .filter_map(|item| text(item, member))
        .collect();
    values.sort_unstable();
    values.dedup();
    match values.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => {
            let mut owners: Vec<&str> = items.iter().filter_map(|i| text(i, owner)).collect();
            owners.sort_unstable();
            owners.dedup();
            if owners.is_empty() {
                Err("the tenant listed no credential on this device".to_owned())
            } else if let [only] = owners.as_slice() {
                Err(format!(
                    "the credential on this device belongs to {owner} {only}, not to {wanted}; check the row"
                ))
            } else {
                Err(format!(
                    "the credentials on this device belong to {owner}s {}, none to {wanted}; check the row",
                    owners.join(", ")
                ))
            }
        }
        several => Err(format!(
            "{wanted} has {} credentials on this device ({}); give tokenSerialNumber to choose one",
            several.len(),
            several.join(", ")
        )),
    }
}

pub static USERS_LOOKUP: Lookup = Lookup {
    name: "users-lookup",
    method: HttpMethod::Post,
    path: "/AdminInterface/restapi/v1/users/lookup",
    key: Field::Email,
    answer: Answer::Member("id"),
    codes: &[
        (400, "bad request: the tenant rejected the lookup"),
        (404, "no user with this email"),
        (429, "too many requests"),
        (500, "internal server error at the tenant"),
    ],
    permission: "rsa.user.read",
};

/// The same user lookup, by `{username}`.
pub static USERS_BY_USERNAME: Lookup = Lookup {
    name: "users-lookup",
    method: HttpMethod::Post,
    path: "/AdminInterface/restapi/v1/users/lookup",
    key: Field::Username,
    answer: Answer::Member("id"),
    codes: &[
        (400, "bad request: the tenant rejected the lookup"),
        (404, "no user with this username"),
        (429, "too many requests"),
        (500, "internal server error at the tenant"),
    ],
    permission: "rsa.user.read",
};

/// A SID700 token and its user (`userId` is absent when unassigned).
pub static SID_LOOKUP: Lookup = Lookup {
    name: "sid-lookup",
    method: HttpMethod::Post,
    path: "/AdminInterface/restapi/v1/sidTokens/lookup",
    key: Field::TokenSerialNumber,
    answer: Answer::Member("userId"),
    codes: &[
        (400, "bad request: the tenant rejected the lookup"),
        (404, "no SID700 token with this serial"),
        (429, "too many requests"),
        (500, "internal server error at the tenant"),
    ],
    permission: "rsa.authenticator.sidtoken.read",
};

pub static DS100_LOOKUP: Lookup = Lookup {
    name: "ds100-lookup",
    method: HttpMethod::Post,
    path: "/AdminInterface/restapi/v1/ds100/lookup",
    key: Field::DeviceSerialNumber,
    answer: Answer::OwnedBy {
        member: "tokenSerialNumber",
        owner: "userId",
        owner_field: Field::UserId,
    },
    codes: &[
        (400, "bad request: the tenant rejected the lookup"),
        (404, "no DS100 credential on this device"),
        (429, "too many requests"),
        (500, "internal server error at the tenant"),
    ],
    permission: "rsa.authenticator.ds100.read",
};

/// Where a user's authenticators are read, what its answers mean, and the
/// permission it needs: the lookup below and `report`, which lists them.
pub const DEVICES_PATH: &str = "/AdminInterface/restapi/v2/users/{userId}/devices";
pub const DEVICES_CODES: &[(u16, &str)] = &[
    (400, "bad request: the tenant rejected the request"),
    (403, "not authorised to read this user's authenticators"),
    (404, "the user does not exist"),
    (429, "too many requests"),
    (500, "internal server error at the tenant"),
];
pub const DEVICES_PERMISSION: &str = "rsa.authenticator.mobile.read";

/// A user's authenticators (`GET /v2/users/{userId}/devices`), to expand
/// a row naming only a user into each credential the user holds.
pub static USER_DEVICES: Lookup = Lookup {
    name: "devices",
    method: HttpMethod::Get,
    path: DEVICES_PATH,
    key: Field::UserId,
    answer: Answer::Member("devices"),
    codes: DEVICES_CODES,
    permission: DEVICES_PERMISSION,
};

/// `userId` from `email`.
pub const USER_BY_EMAIL: Resolver = Resolver {
    field: Field::UserId,
    lookup: &USERS_LOOKUP,
};

/// `userId` from `username`.
pub const USER_BY_USERNAME: Resolver = Resolver {
    field: Field::UserId,
    lookup: &USERS_BY_USERNAME,
};

/// `userId` from a SID700 `tokenSerialNumber`: the token's user.
pub const USER_BY_SID_TOKEN: Resolver = Resolver {
    field: Field::UserId,
    lookup: &SID_LOOKUP,
};

/// `tokenSerialNumber` from `deviceSerialNumber`, choosing the row's user's
/// credential when the device holds several.
pub const TOKEN_BY_DEVICE: Resolver = Resolver {
    field: Field::TokenSerialNumber,
    lookup: &DS100_LOOKUP,
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALICE: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";
    const BOB: &str = "ece30fe9-414c-7536-5403-0656220b3046";

    fn owner(user: &'static str) -> impl Fn(Field) -> Option<&'static str> {
        move |f| (f == Field::UserId).then_some(user)
    }

    #[test]
    fn user_lookup_reads_the_id() {
        let answer = json!({"id": ALICE, "email": "a@x"});
        assert_eq!(USERS_LOOKUP.pick(&answer, |_| None), Ok(ALICE.to_owned()));
        let err = USERS_LOOKUP.pick(&json!({"email": "a@x"}), |_| None);
        assert_eq!(err, Err("the tenant's answer has no id".to_owned()));
    }

    #[test]
    fn device_lookup_picks_the_rows_users_credential() {
        let answer = json!([
            {"tokenSerialNumber": "0001", "userId": BOB},
            {"tokenSerialNumber": "0002", "userId": ALICE.to_uppercase()},
        ]);
        assert_eq!(DS100_LOOKUP.pick(&answer, owner(ALICE)), Ok("0002".into()));
        assert_eq!(DS100_LOOKUP.pick(&answer, owner(BOB)), Ok("0001".into()));
    }

    #[test]
    fn device_of_someone_else_names_the_owner() {
        let answer = json!([{"tokenSerialNumber": "0001", "userId": BOB}]);
        let err = DS100_LOOKUP.pick(&answer, owner(ALICE)).unwrap_err();
        assert!(
            err.contains(&format!("belongs to userId {BOB}, not to {ALICE}")),
            "{err}"
        );
    }

    #[test]
    fn two_credentials_of_one_user_need_the_serial() {
        let answer = json!([
            {"tokenSerialNumber": "0001", "userId": ALICE},
            {"tokenSerialNumber": "0002", "userId": ALICE},
        ]);
        let err = DS100_LOOKUP.pick(&answer, owner(ALICE)).unwrap_err();
        assert!(
            err.contains("2 credentials on this device (0001, 0002)"),
            "{err}"
        );
    }
}
