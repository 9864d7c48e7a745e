//! The operation catalog: everything the tool knows about each tenant call it
//! can run in bulk. An operation is data — its name, the columns it needs, its
//! HTTP method and path, the JSON body it sends, how to read a 200 body and
//! what each documented status code means. The runner, the validator and the
//! `operations` listing all read this table, so adding an operation is adding
//! one entry to [`CATALOG`].

mod lookups;

pub use lookups::{
    Answer, Lookup, Resolver, DS100_LOOKUP, TOKEN_BY_DEVICE, USERS_LOOKUP, USER_BY_EMAIL,
};

use std::fmt;

/// A canonical input column. Input headers are matched to these
/// case-insensitively with `_`, `-` and spaces ignored (see `input::header`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    UserId,
    TokenSerialNumber,
    DeviceSerialNumber,
    /// Never sent to an operation; it stands in for `userId` through the
    /// user lookup.
    Email,
}

impl Field {
    pub const ALL: [Field; 4] = [
        Field::UserId,
        Field::TokenSerialNumber,
        Field::DeviceSerialNumber,
        Field::Email,
    ];
    pub const COUNT: usize = Self::ALL.len();

    /// The name used in headers, JSON bodies and messages.
    pub fn wire_name(self) -> &'static str {
        match self {
            Field::UserId => "userId",
            Field::TokenSerialNumber => "tokenSerialNumber",
            Field::DeviceSerialNumber => "deviceSerialNumber",
            Field::Email => "email",
        }
    }

    /// Header names that mean this field besides its wire name, before
    /// normalisation (`E-mail` and `Email Address` normalise to these).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Email => &["mail", "emailAddress"],
            _ => &[],
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    Post,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Post => "POST",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    pub fn to_reqwest(self) -> reqwest::Method {
        match self {
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One bulk operation the tool can run.
#[derive(Debug)]
pub struct Operation {
    /// The command-line name, e.g. `ds100-clear-pin`.
    pub name: &'static str,
    /// One line for `securid-bulk operations` and the confirmation prompt.
    pub summary: &'static str,
    /// Columns every row must carry.
    pub required: &'static [Field],
    pub method: HttpMethod,
    /// Path under the tenant root. A segment `{userId}` (or any field's wire
    /// name in braces) is replaced by that row's value, percent-encoded.
    pub path: &'static str,
    /// Fields sent in the JSON body, as strings, in this order.
    pub body: &'static [Field],
    /// Fields of a 200 body worth echoing in the results' `detail` column. The
    /// body may be one object or an array of objects.
    pub detail_fields: &'static [&'static str],
    /// Whether the change cannot be undone by clearing a PIN again; such
    /// operations ask for confirmation before the first request.
    pub destructive: bool,
    /// The documented meaning of each status code, from the vendor's page.
    pub codes: &'static [(u16, &'static str)],
    /// Required fields a row may leave empty because a lookup can find them,
    /// in the order they are resolved (a later lookup may need an earlier
    /// one's answer).
    pub resolvers: &'static [Resolver],
    /// The OAuth permission the call needs.
    pub permission: &'static str,
}

impl Operation {
    /// The documented meaning of a status code, if the vendor lists it.
    pub fn explain(&self, status: u16) -> Option<&'static str> {
        self.codes
            .iter()
            .find(|(code, _)| *code == status)
            .map(|(_, meaning)| *meaning)
    }

    /// Every field the operation reads from a row, in catalog order: the
    /// required ones, the ones it sends, and the keys its lookups need.
    pub fn fields(&self) -> impl Iterator<Item = Field> + '_ {
        Field::ALL.into_iter().filter(|f| {
            self.required.contains(f)
                || self.body.contains(f)
                || self.resolvers.iter().any(|r| r.lookup.key == *f)
        })
    }

    /// The lookups that can find `field` when a row leaves it empty.
    pub fn resolvers_for(&self, field: Field) -> impl Iterator<Item = &'static Resolver> + '_ {
        self.resolvers.iter().filter(move |r| r.field == field)
    }

    /// A required column for messages: `userId (or email)`.
    pub fn describe_column(&self, field: Field) -> String {
        let stand_ins: Vec<&str> = self
            .resolvers_for(field)
            .map(|r| r.lookup.key.wire_name())
            .collect();
        if stand_ins.is_empty() {
            field.wire_name().to_owned()
        } else {
            format!("{field} (or {})", stand_ins.join(" or "))
        }
    }

    /// The OAuth permissions a run of this operation asks for: its own and
    /// its lookups', each once, in that order.
    pub fn scopes(&self) -> Vec<&'static str> {
        let mut scopes = vec![self.permission];
        for resolver in self.resolvers {
            if !scopes.contains(&resolver.lookup.permission) {
                scopes.push(resolver.lookup.permission);
            }
        }
        scopes
    }

    /// Whether the path carries a row value (and so needs path-safe values).
    pub fn path_fields(&self) -> impl Iterator<Item = Field> + '_ {
        Field::ALL
            .into_iter()
            .filter(|f| self.path.contains(&format!("{{{}}}", f.wire_name())))
    }
}

const DS100_CODES: &[(u16, &str)] = &[
    (400, "bad request: the tenant rejected the request syntax"),
    (
        403,
        "not authorised: the key needs the Help Desk or Super Administrator role",
    ),
    (404, "the user or the DS100 authenticator does not exist"),
    (429, "too many requests"),
    (500, "internal server error at the tenant"),
];

pub static DS100_CLEAR_PIN: Operation = Operation {
    name: "ds100-clear-pin",
    summary: "clear the PIN of a user's DS100 OTP credential",
    required: &[Field::UserId, Field::TokenSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v1/ds100/clearPin/otp",
    body: &[Field::TokenSerialNumber, Field::UserId],
    detail_fields: &["pinSet"],
    destructive: false,
    codes: DS100_CODES,
    resolvers: &[USER_BY_EMAIL],
    permission: "rsa.authenticator.ds100.manage",
};

pub static SID_CLEAR_PIN: Operation = Operation {
    name: "sid-clear-pin",
    summary: "clear the PIN of a user's SID700 hardware token",
    required: &[Field::UserId, Field::TokenSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v2/users/{userId}/sidTokens/clearPin",
    body: &[Field::TokenSerialNumber],
    detail_fields: &["pinSet"],
    destructive: false,
    codes: &[
        (404, "the user or the hardware token does not exist"),
        (409, "the hardware token is not assigned to this user"),
        (429, "too many requests"),
        (500, "internal server error at the tenant"),
    ],
    resolvers: &[USER_BY_EMAIL],
    permission: "rsa.authenticator.sidtoken.manage",
};

pub static DS100_DISABLE: Operation = Operation {
    name: "ds100-disable",
    summary: "disable a user's DS100 OTP credential (it can no longer authenticate)",
    required: &[Field::UserId, Field::DeviceSerialNumber],
    method: HttpMethod::Patch,
    path: "/AdminInterface/restapi/v1/ds100/disable/otp",
    body: &[Field::DeviceSerialNumber, Field::UserId],
    detail_fields: &["tokenSerialNumber", "tokenStatus", "tokenStatusChangedAt"],
    destructive: true,
    codes: DS100_CODES,
    resolvers: &[USER_BY_EMAIL],
    permission: "rsa.authenticator.ds100.manage",
};

pub static DS100_DELETE: Operation = Operation {
    name: "ds100-delete",
    summary: "delete a user's DS100 OTP credential (cannot be undone)",
    required: &[
        Field::UserId,
        Field::TokenSerialNumber,
        Field::DeviceSerialNumber,
    ],
    method: HttpMethod::Delete,
    path: "/AdminInterface/restapi/v1/ds100/delete/otp",
    body: &[
        Field::TokenSerialNumber,
        Field::DeviceSerialNumber,
        Field::UserId,
    ],
    detail_fields: &[],
    destructive: true,
    codes: DS100_CODES,
    // The user first: picking the token on a shared device needs its owner.
    resolvers: &[USER_BY_EMAIL, TOKEN_BY_DEVICE],
    permission: "rsa.authenticator.ds100.delete",
};

/// Every operation, in the order `securid-bulk operations` lists them.
pub static CATALOG: &[&Operation] = &[
    &DS100_CLEAR_PIN,
    &SID_CLEAR_PIN,
    &DS100_DISABLE,
    &DS100_DELETE,
];

pub fn find(name: &str) -> Option<&'static Operation> {
    CATALOG.iter().copied().find(|op| op.name == name)
}

pub fn names() -> Vec<&'static str> {
    CATALOG.iter().map(|op| op.name).collect()
}

/// The text of `securid-bulk operations`.
pub fn listing() -> String {
    let mut out = String::new();
    for op in CATALOG {
        let columns: Vec<String> = op.required.iter().map(|f| op.describe_column(*f)).collect();
        let body: Vec<&str> = op.body.iter().map(|f| f.wire_name()).collect();
        out.push_str(&format!(
            "{}\n    {}{}\n    columns: {}\n    request: {} {} {{{}}}\n    permission: {}\n",
            op.name,
            op.summary,
            if op.destructive {
                " [asks for confirmation]"
            } else {
                ""
            },
            columns.join(", "),
            op.method.as_str(),
            op.path,
            body.join(", "),
            op.permission,
        ));
        for resolver in op.resolvers {
            let lookup = resolver.lookup;
            out.push_str(&format!(
                "    lookup: {} from {}: {} {} {{{}}} (permission {})\n",
                resolver.field,
                lookup.key,
                lookup.method.as_str(),
                lookup.path,
                lookup.key,
                lookup.permission,
            ));
        }
    }
    out
}

/// Renders a 200 body into the `detail` column: `field=value` pairs for the
/// operation's detail fields, `;`-separated, one group per array element.
/// Returns `None` when the body is not JSON, which is still a success: the
/// vendor's own example for DS100 clear-PIN is not valid JSON.
pub fn describe_success(op: &Operation, body: &str) -> Option<String> {
    if op.detail_fields.is_empty() {
        return Some(String::new());
    }
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let objects = match &value {
        serde_json::Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    // `name=value` pairs, a space between pairs of one object and `; `
    // between objects, written into one string.
    let mut described = String::new();
    for object in objects {
        let group_start = described.len();
        for name in op.detail_fields {
            let Some(value) = object.get(*name) else {
                continue;
            };
            match (described.len() > group_start, group_start > 0) {
                (true, _) => described.push(' '),
                (false, true) => described.push_str("; "),
                (false, false) => {}
            }
            described.push_str(name);
            described.push('=');
            push_scalar(&mut described, value);
        }
    }
    Some(described)
}

/// A JSON scalar as plain text: `false` and `"false"` both read `false`.
fn push_scalar(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => out.push_str(s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Null => out.push_str("null"),
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique_and_findable() {
        for op in CATALOG {
            assert_eq!(find(op.name).map(|o| o.name), Some(op.name));
        }
        let mut names = names();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CATALOG.len());
    }

    #[test]
    fn body_fields_are_always_required() {
        for op in CATALOG {
            for f in op
                .body
                .iter()
                .chain(op.path_fields().collect::<Vec<_>>().iter())
            {
                assert!(
                    op.required.contains(f),
                    "{} sends {f} without requiring it",
                    op.name
                );
            }
        }
    }

    #[test]
    fn lookups_fill_required_fields_from_fields_the_operation_reads() {
        for op in CATALOG {
            for resolver in op.resolvers {
                assert!(op.required.contains(&resolver.field), "{}", op.name);
                assert!(op.fields().any(|f| f == resolver.lookup.key), "{}", op.name);
                assert_ne!(resolver.field, resolver.lookup.key, "{}", op.name);
            }
        }
        assert_eq!(
            DS100_DELETE.describe_column(Field::UserId),
            "userId (or email)"
        );
        assert_eq!(
            DS100_DISABLE.describe_column(Field::DeviceSerialNumber),
            "deviceSerialNumber"
        );
    }

    #[test]
    fn pin_set_reads_the_same_as_boolean_or_string() {
        let ds = describe_success(
            &DS100_CLEAR_PIN,
            r#"{"tokenSerialNumber":"1","pinSet":false}"#,
        );
        let sid = describe_success(&SID_CLEAR_PIN, r#"{"userId":"u","pinSet":"false"}"#);
        assert_eq!(ds.as_deref(), Some("pinSet=false"));
        assert_eq!(sid.as_deref(), Some("pinSet=false"));
    }

    #[test]
    fn vendor_example_with_missing_comma_is_not_json() {
        let body = "{\n\"tokenSerialNumber\":\"014010008038\"\n\"pinSet\": false\n}";
        assert_eq!(describe_success(&DS100_CLEAR_PIN, body), None);
    }

    #[test]
    fn disable_lists_each_credential_and_keeps_odd_timestamps() {
        let body = r#"[{"userId":"u","tokenSerialNumber":"014010008031","tokenStatus":"Disabled",
            "tokenStatusChangedAt":"2022-05-24T084041.067Z","deviceSerialNumber":"140100080"}]"#;
        assert_eq!(
            describe_success(&DS100_DISABLE, body).as_deref(),
            Some("tokenSerialNumber=014010008031 tokenStatus=Disabled tokenStatusChangedAt=2022-05-24T084041.067Z")
        );
    }

    #[test]
    fn objects_are_separated_and_empty_ones_left_out() {
        let body = r#"[{"tokenSerialNumber":"1","tokenStatus":"Disabled"},{"other":1},
            {"tokenStatus":"Enabled"}]"#;
        assert_eq!(
            describe_success(&DS100_DISABLE, body).as_deref(),
            Some("tokenSerialNumber=1 tokenStatus=Disabled; tokenStatus=Enabled")
        );
        let odd = describe_success(&DS100_CLEAR_PIN, r#"[{"pinSet":null},{"pinSet":0}]"#);
        assert_eq!(odd.as_deref(), Some("pinSet=null; pinSet=0"));
    }

    #[test]
    fn a_run_asks_for_its_permission_and_its_lookups() {
        assert_eq!(
            DS100_DELETE.scopes(),
            [
                "rsa.authenticator.ds100.delete",
                "rsa.user.read",
                "rsa.authenticator.ds100.read"
            ]
        );
        assert_eq!(
            SID_CLEAR_PIN.scopes(),
            ["rsa.authenticator.sidtoken.manage", "rsa.user.read"]
        );
        for op in CATALOG {
            assert!(op.permission.starts_with("rsa."), "{}", op.name);
            assert!(listing().contains(&format!("permission: {}", op.permission)));
        }
    }

    #[test]
    fn sid_path_carries_the_user() {
        assert_eq!(
            SID_CLEAR_PIN.path_fields().collect::<Vec<_>>(),
            vec![Field::UserId]
        );
        assert_eq!(DS100_DELETE.path_fields().count(), 0);
    }
}
