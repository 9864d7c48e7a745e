//! The operation's request for one row: its method, URL and JSON body,
//! built once and replayed on each attempt; a plan records the same.

use super::{Client, Prepared};
use crate::input::Checked;
use crate::ops::Operation;

impl Client {
    /// The operation's request for a row: what is sent, and what a plan
    /// records.
    pub(super) fn prepare(&self, op: &Operation, row: &Checked) -> Prepared {
        Prepared {
            method: op.method,
            url: self.url_for(op, row),
            body: request_body(op, row),
            is_lookup: false,
        }
    }
}

/// The JSON body: the operation's body fields, as strings, in catalog
/// order, then its fixed members; `None` for an operation without a body.
pub(super) fn request_body(op: &Operation, row: &Checked) -> Option<String> {
    // Writing a map of strings into a string cannot fail.
    op.has_body()
        .then(|| serde_json::to_string(&Body { op, row }).unwrap_or_default())
}

/// Serialized straight from the row: no map of owned keys and values per
/// request.
struct Body<'a> {
    op: &'a Operation,
    row: &'a Checked,
}

impl serde::Serialize for Body<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let len = self.op.body.len() + self.op.fixed.len();
        let mut map = serializer.serialize_map(Some(len))?;
        for field in self.op.body {
            map.serialize_entry(
                field.wire_name(),
                self.row.value(*field).unwrap_or_default(),
            )?;
        }
        // markDeleted takes a JSON boolean; every other fixed member is text.
        for (name, value) in self.op.fixed {
            match *value {
                "true" => map.serialize_entry(name, &true)?,
                "false" => map.serialize_entry(name, &false)?,
                text => map.serialize_entry(name, text)?,
            }
        }
        map.end()
    }
}
