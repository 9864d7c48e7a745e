//! The operation catalog: everything the tool knows about each tenant call it
//! can run in bulk. An operation is data — its name, the columns it needs, its
//! HTTP method and path, the JSON body it sends, how to read a 200 body and
//! what each documented status code means. The runner, the validator and the
//! `operations` listing all read this table, so adding an operation is adding
//! one entry to [`CATALOG`].

mod entries;
mod lookups;
mod verify;

pub use entries::*;
pub use lookups::{
    Answer, Lookup, Resolver, DS100_LOOKUP, SID_LOOKUP, TOKEN_BY_DEVICE, USERS_BY_USERNAME,
    USERS_LOOKUP, USER_BY_EMAIL, USER_BY_SID_TOKEN, USER_BY_USERNAME,
};
pub use verify::{Expect, Found, Verify};

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
    /// Like `email`, a stand-in for `userId` through the user lookup.
    Username,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::UserId,
        Field::TokenSerialNumber,
        Field::DeviceSerialNumber,
        Field::Email,
        Field::Username,
    ];
    pub const COUNT: usize = Self::ALL.len();

    /// The name used in headers, JSON bodies and messages.
    pub fn wire_name(self) -> &'static str {
        match self {
            Field::UserId => "userId",
            Field::TokenSerialNumber => "tokenSerialNumber",
            Field::DeviceSerialNumber => "deviceSerialNumber",
            Field::Email => "email",
            Field::Username => "username",
        }
    }

    /// Header names that mean this field besides its wire name, before
    /// normalisation (`E-mail` and `Email Address` normalise to these).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Email => &["mail", "emailAddress"],
            Field::Username => &["userName", "login"],
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
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    pub fn to_reqwest(self) -> reqwest::Method {
        match self {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        }
    }
}

/// What a listing read answers and how each item becomes a results line:
/// the 200 body's array `member`, each item's `columns` (written after the
/// row's own columns), and the message for a row whose list is empty.
#[derive(Debug)]
pub struct Listing {
    pub member: &'static str,
    pub columns: &'static [&'static str],
    pub empty: &'static str,
    /// A read of the row's own state beside the list, and the note the
    /// row's message gets when the read finds it (a user pending
    /// deletion).
    pub note: Option<(Verify, &'static str)>,
}

impl Listing {
    /// The items of a 200 body, each as its column values (text; absent
    /// members empty). `None` when the body is not JSON or holds no array
    /// at `member`.
    pub fn items(&self, body: &str) -> Option<Vec<Vec<String>>> {
        let value: serde_json::Value = serde_json::from_str(body).ok()?;
        let items = value.get(self.member)?.as_array()?;
        let cell = |item: &serde_json::Value, column: &str| {
            let mut text = String::new();
            if let Some(v) = item.get(column).filter(|v| !v.is_null()) {
                push_scalar(&mut text, v);
            }
            text
        };
        Some(
            items
                .iter()
                .map(|item| self.columns.iter().map(|c| cell(item, c)).collect())
                .collect(),
        )
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
    /// Members with a fixed value sent after the fields, e.g.
    /// `("userStatus", "Disabled")`; `true` and `false` are sent as JSON
    /// booleans (`{"markDeleted": true}`). With no fields and no fixed
    /// members the request has no body at all.
    pub fixed: &'static [(&'static str, &'static str)],
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
    /// How `--verify` reads the change back; `None` when no lookup shows it.
    pub verify: Option<Verify>,
    /// For a read that lists things (the `report`): one results line per
    /// listed item instead of one per row.
    pub lists: Option<&'static Listing>,
    /// The OAuth permission the call needs.
    pub permission: &'static str,
    /// How a run of it is taken back: by which operation, or not at all.
    pub undo: Undo,
}

/// Whether and how an operation's change is taken back.
#[derive(Debug, Clone, Copy)]
pub enum Undo {
    /// A read: it changes nothing.
    Nothing,
    /// The change cannot be undone.
    Never,
    /// `inverse` takes the change back. `refused_when_done`: the tenant
    /// refuses (409) the change for a target already in the state it makes,
    /// so a 200 proves the target was changed even when its earlier state
    /// could not be read.
    /// `within_days`: the undo works only this long (the tenant purges
    /// after it).
    By {
        inverse: &'static Operation,
        refused_when_done: bool,
        within_days: Option<u64>,
    },
}

impl Operation {
    /// The operation that takes this one's change back, if any.
    pub fn inverse(&self) -> Option<&'static Operation> {
        match self.undo {
            Undo::By { inverse, .. } => Some(inverse),
            Undo::Nothing | Undo::Never => None,
        }
    }

    /// Whether a change of this operation can never be taken back.
    pub fn irreversible(&self) -> bool {
        matches!(self.undo, Undo::Never)
    }

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

    /// Whether the request carries a JSON body at all.
    pub fn has_body(&self) -> bool {
        !self.body.is_empty() || !self.fixed.is_empty()
    }

    /// The OAuth permissions a run of this operation asks for: its own, its
    /// lookups', and those of the lookups that read its target (before a
    /// change that can be undone, and after one with `--verify`), each
    /// once, in that order.
    pub fn scopes(&self, verify: bool) -> Vec<&'static str> {
        let lookups = self.resolvers.iter().map(|r| r.lookup);
        let reads_target = verify || self.inverse().is_some();
        let read_backs = self
            .verify
            .iter()
            .filter(|_| reads_target)
            .flat_map(|v| v.lookups.iter().copied());
        let mut scopes = vec![self.permission];
        for lookup in lookups.chain(read_backs) {
            if !scopes.contains(&lookup.permission) {
                scopes.push(lookup.permission);
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

/// Every command that runs rows: the catalog, then the read-only report.
pub fn commands() -> impl Iterator<Item = &'static Operation> {
    CATALOG.iter().copied().chain(std::iter::once(&REPORT))
}

pub fn find(name: &str) -> Option<&'static Operation> {
    commands().find(|op| op.name == name)
}

/// The text of `securid-bulk operations`.
pub fn listing() -> String {
    let mut out = String::new();
    for op in CATALOG {
        let columns: Vec<String> = op.required.iter().map(|f| op.describe_column(*f)).collect();
        let body: Vec<String> = op
            .body
            .iter()
            .map(|f| f.wire_name().to_owned())
            .chain(op.fixed.iter().map(|(k, v)| format!("{k}: {v:?}")))
            .collect();
        let body = if op.has_body() {
            format!(" {{{}}}", body.join(", "))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{}\n    {}{}{}\n    columns: {}\n    request: {} {}{}\n    permission: {}\n",
            op.name,
            op.summary,
            if op.destructive {
                " [asks for confirmation]"
            } else {
                ""
            },
            match op.inverse() {
                Some(inverse) => format!("\n    undo: {} (from the run's .undo.csv)", inverse.name),
                None if op.irreversible() => "\n    undo: none, it cannot be undone".to_owned(),
                None => String::new(),
            },
            columns.join(", "),
            op.method.as_str(),
            op.path,
            body,
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
        match &op.verify {
            Some(verify) => {
                let reads: Vec<String> = verify
                    .lookups
                    .iter()
                    .map(|l| format!("{} {} {{{}}}", l.method.as_str(), l.path, l.key))
                    .collect();
                out.push_str(&format!("    verify: {}\n", reads.join(" or ")));
            }
            None => out.push_str("    verify: no lookup shows this change\n"),
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
mod tests;
