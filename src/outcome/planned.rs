//! What planning found for one input row: each target it resolved to (a
//! credential or a user), the state read, and the action `apply` will take.
//! The plan file holds these as they are; `apply` reads them back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One input row's plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub targets: Vec<PlannedTarget>,
}

/// One target of a row: its identifiers, the state read, and the action.
/// Written flat (see [`FlatTarget`]): a tagged, flattened enum would make
/// serde buffer every entry before reading it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "FlatTarget", into = "FlatTarget")]
pub struct PlannedTarget {
    /// The resolved identifiers by wire name (`userId`, `tokenSerialNumber`,
    /// `deviceSerialNumber`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<String, String>,
    /// The state read before the change (e.g. `tokenStatus=Enabled`); none
    /// when no lookup shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub action: Action,
}

/// A target as the plan file holds it: `action` names the kind, and the
/// members that kind has are present.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct FlatTarget {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    ids: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl From<FlatTarget> for PlannedTarget {
    fn from(flat: FlatTarget) -> Self {
        let action = match flat.action.as_str() {
            "change" => Action::Change {
                method: flat.method.unwrap_or_default(),
                path: flat.path.unwrap_or_default(),
                body: flat.body,
            },
            "no-op" => Action::NoOp,
            // A fail, or anything this build does not know: never sent.
            other => Action::Fail {
                kind: flat.kind.unwrap_or_else(|| other.to_owned()),
                reason: flat.reason.unwrap_or_default(),
            },
        };
        PlannedTarget {
            ids: flat.ids,
            state: flat.state,
            action,
        }
    }
}

impl From<PlannedTarget> for FlatTarget {
    fn from(target: PlannedTarget) -> Self {
        let mut flat = FlatTarget {
            ids: target.ids,
            state: target.state,
            ..FlatTarget::default()
        };
        match target.action {
            Action::Change { method, path, body } => {
                flat.action = "change".into();
                (flat.method, flat.path, flat.body) = (Some(method), Some(path), body);
            }
            Action::NoOp => flat.action = "no-op".into(),
            Action::Fail { kind, reason } => {
                flat.action = "fail".into();
                (flat.kind, flat.reason) = (Some(kind), Some(reason));
            }
        }
        flat
    }
}

/// What `apply` does with a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send exactly this request.
    Change {
        method: String,
        path: String,
        body: Option<String>,
    },
    /// Already in the wanted state: nothing is sent.
    NoOp,
    /// Cannot be done; `kind` groups the reasons in the summary (`not
    /// found`, `not this user's`, ...).
    Fail { kind: String, reason: String },
}

impl Planned {
    /// A row that cannot be done at all, for one reason.
    pub fn failed(kind: &str, reason: impl Into<String>) -> Planned {
        Planned {
            targets: vec![PlannedTarget {
                ids: BTreeMap::new(),
                state: None,
                action: Action::Fail {
                    kind: kind.to_owned(),
                    reason: reason.into(),
                },
            }],
        }
    }

    /// The targets `apply` sends.
    pub fn changes(&self) -> impl Iterator<Item = &PlannedTarget> {
        self.targets
            .iter()
            .filter(|t| matches!(t.action, Action::Change { .. }))
    }

    /// One line for the results' message: what the plan will do.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for target in &self.targets {
            let what = match &target.action {
                Action::Change { .. } => match &target.state {
                    Some(state) => format!("change (now {state})"),
                    None => "change".to_owned(),
                },
                Action::NoOp => "no-op (already done)".to_owned(),
                Action::Fail { reason, .. } => format!("cannot be done: {reason}"),
            };
            let serial = target
                .ids
                .get("tokenSerialNumber")
                .or_else(|| target.ids.get("deviceSerialNumber"));
            parts.push(match serial {
                Some(serial) if self.targets.len() > 1 => format!("{serial}: {what}"),
                _ => what,
            });
        }
        format!("plan: {}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_reads_back_as_written() {
        let target = PlannedTarget {
            ids: BTreeMap::from([("userId".to_owned(), "u1".to_owned())]),
            state: Some("userStatus=Enabled".into()),
            action: Action::Change {
                method: "PUT".into(),
                path: "/x".into(),
                body: Some("{}".into()),
            },
        };
        let text = serde_json::to_string(&target).unwrap();
        assert!(text.contains(r#""action":"change""#), "{text}");
        assert_eq!(
            serde_json::from_str::<PlannedTarget>(&text).unwrap(),
            target
        );
        let noop: PlannedTarget = serde_json::from_str(r#"{"action":"no-op"}"#).unwrap();
        assert_eq!(noop.action, Action::NoOp);
    }
}
