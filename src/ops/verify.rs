//! How `--verify` reads a change back: which lookup shows the state, which
//! records in its answer belong to the row, and what they must say. Like the
//! rest of the catalog this is data; the client sends the read and
//! [`Verify::judge`] reads the answer.

use serde_json::Value;

use super::{Field, Lookup};

/// An operation's read-back.
#[derive(Debug, Clone, Copy)]
pub struct Verify {
    /// The lookups that can show the state; the first whose key the row
    /// carries is sent.
    pub lookups: &'static [&'static Lookup],
    /// A record belongs to the row when this member equals the row's value
    /// of this field (ignoring case).
    pub owner: (&'static str, Field),
    pub expect: Expect,
}

/// What the row's records must say once the change took.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// At least one record belongs to the row, and in each the member has
    /// this value.
    Member(&'static str, &'static str),
    /// No record belongs to the row any more (a 404 counts).
    Gone,
    /// At least one record belongs to the row (a token assigned to it).
    Present,
}

/// What the read-back found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The change took.
    Yes,
    /// The change did not take; what the tenant shows instead.
    No(String),
    /// The state could not be read; why.
    Unknown(String),
}

impl Found {
    /// The `verified` cell.
    pub fn cell(&self) -> String {
        match self {
            Found::Yes => "yes".to_owned(),
            Found::No(what) => format!("no: {what}"),
            Found::Unknown(why) => format!("unknown: {why}"),
        }
    }
}

impl Verify {
    /// The lookup to send for a row, with its key value.
    pub fn lookup_for<'a>(
        &self,
        row: impl Fn(Field) -> Option<&'a str>,
    ) -> Option<(&'static Lookup, &'a str)> {
        self.lookups
            .iter()
            .find_map(|lookup| row(lookup.key).map(|key| (*lookup, key)))
    }

    /// Judges a lookup's answer: `Ok` is a 200 body, `Err` its status code
    /// (`None` when no answer came).
    pub fn judge<'a>(
        &self,
        answer: Result<&Value, Option<u16>>,
        row: impl Fn(Field) -> Option<&'a str>,
    ) -> Found {
        let (member, field) = self.owner;
        let Some(wanted) = row(field) else {
            return Found::Unknown(format!("the row has no {field}"));
        };
        let answer = match (answer, self.expect) {
            (Ok(answer), _) => answer,
            (Err(Some(404)), Expect::Gone) => return Found::Yes,
            (Err(Some(404)), Expect::Member(..) | Expect::Present) => {
                return Found::No("the tenant finds no such record any more".to_owned())
            }
            (Err(Some(status)), _) => {
                return Found::Unknown(format!("the read-back answered HTTP {status}"))
            }
            (Err(None), _) => return Found::Unknown("the read-back got no answer".to_owned()),
        };
        let records: Vec<&Value> = match answer {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let owned: Vec<&Value> = records
            .into_iter()
            .filter(|r| text(r, member).is_some_and(|v| v.eq_ignore_ascii_case(wanted)))
            .collect();
        match self.expect {
            Expect::Gone if owned.is_empty() => Found::Yes,
            Expect::Gone => Found::No(format!("still there with {member}={wanted}")),
            Expect::Member(..) | Expect::Present if owned.is_empty() => {
                Found::No(format!("no record with {member}={wanted}"))
            }
            Expect::Present => Found::Yes,
            Expect::Member(name, value) => {
                let mut seen: Vec<&str> = owned
                    .iter()
                    .map(|r| text(r, name).unwrap_or("(none)"))
                    .filter(|v| *v != value)
                    .collect();
                seen.dedup();
                match seen.as_slice() {
                    [] => Found::Yes,
                    found => Found::No(format!("{name}={}", found.join(","))),
                }
            }
        }
    }
}

/// A member as text: a string, or a boolean as `true`/`false` (the user
/// lookup's `markDeleted`).
fn text<'v>(object: &'v Value, member: &str) -> Option<&'v str> {
    match object.get(member)? {
        Value::String(text) => Some(text),
        Value::Bool(true) => Some("true"),
        Value::Bool(false) => Some("false"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{
        DS100_DISABLE, SID_ASSIGN, SID_UNASSIGN, USER_DELETE, USER_DELETE_NOW, USER_DISABLE,
    };
    use serde_json::json;

    const ALICE: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";

    fn alice(field: Field) -> Option<&'static str> {
        match field {
            Field::UserId => Some(ALICE),
            Field::TokenSerialNumber => Some("1231314525"),
            _ => None,
        }
    }

    #[test]
    fn every_credential_of_the_row_must_show_the_status() {
        let verify = DS100_DISABLE.verify.unwrap();
        let done = json!([{"userId": ALICE, "tokenStatus": "Disabled"},
                          {"userId": "other", "tokenStatus": "Enabled"}]);
        assert_eq!(verify.judge(Ok(&done), alice), Found::Yes);
        let half = json!([{"userId": ALICE, "tokenStatus": "Disabled"},
                          {"userId": ALICE, "tokenStatus": "Enabled"}]);
        assert_eq!(
            verify.judge(Ok(&half), alice),
            Found::No("tokenStatus=Enabled".into())
        );
        assert!(matches!(
            verify.judge(Err(Some(500)), alice),
            Found::Unknown(_)
        ));
    }

    #[test]
    fn gone_means_no_record_of_the_row_or_a_404() {
        let verify = USER_DELETE_NOW.verify.unwrap();
        assert_eq!(verify.judge(Err(Some(404)), alice), Found::Yes);
        let still = json!({"id": ALICE, "userStatus": "Disabled"});
        assert!(matches!(verify.judge(Ok(&still), alice), Found::No(_)));
        let unassigned = json!({"tokenSerialNumber": "1231314525", "tokenState": "Unassigned"});
        let sid = SID_UNASSIGN.verify.unwrap();
        assert_eq!(sid.judge(Ok(&unassigned), alice), Found::Yes);
    }

    #[test]
    fn user_status_is_read_by_email_or_username() {
        let verify = USER_DISABLE.verify.unwrap();
        assert!(verify.lookup_for(alice).is_none());
        let by_name = |f: Field| (f == Field::Username).then_some("alice");
        let (lookup, key) = verify.lookup_for(by_name).unwrap();
        assert_eq!((lookup.key, key), (Field::Username, "alice"));
        assert_eq!(
            Found::No("userStatus=Enabled".into()).cell(),
            "no: userStatus=Enabled"
        );
    }

    #[test]
    fn a_pending_deletion_reads_as_a_boolean_and_an_assignment_as_presence() {
        let marked = USER_DELETE.verify.unwrap();
        let pending = json!({"id": ALICE, "markDeleted": true});
        assert_eq!(marked.judge(Ok(&pending), alice), Found::Yes);
        let kept = json!({"id": ALICE, "markDeleted": false});
        assert_eq!(
            marked.judge(Ok(&kept), alice),
            Found::No("markDeleted=false".into())
        );
        let assigned = SID_ASSIGN.verify.unwrap();
        let token = json!({"tokenSerialNumber": "1231314525", "userId": ALICE});
        assert_eq!(assigned.judge(Ok(&token), alice), Found::Yes);
        let loose = json!({"tokenSerialNumber": "1231314525"});
        assert!(matches!(assigned.judge(Ok(&loose), alice), Found::No(_)));
    }
}
