//! Input hygiene: the cross-row signs of a file that went through a
//! spreadsheet or was pasted together in a hurry. One serial claimed by two
//! users, serials that lost their leading zeros, cells that would run as
//! formulas.
//!
//! The scan feeds every row through [`Hygiene`], which keeps 16 bytes per
//! row (fingerprints, never the values) so that a million-row file costs
//! megabytes, not hundreds of them. What the fingerprints make suspect is
//! settled exactly by [`SecondLook`], on a second read of only the rows
//! involved: a fingerprint collision can never make a good row invalid.

use std::collections::{HashMap, HashSet};

use super::fingerprint::Fingerprinter;
use super::validate::MAX_SERIAL_LEN;
use super::{Checked, ColumnMap, Finding, RawRow};
use crate::ops::{Field, Operation};
use crate::outcome::is_formula;

/// Lengths seen in one serial column, counted over every valid row. A valid
/// serial is at most [`MAX_SERIAL_LEN`] long, so a slot per length does.
struct SerialLengths {
    counts: [u64; MAX_SERIAL_LEN + 1],
    /// Bit `n` is set when some serial of length `n` is made only of digits:
    /// the serials a spreadsheet can shorten by dropping leading zeros.
    all_digit_lengths: u64,
}

impl Default for SerialLengths {
    fn default() -> Self {
        SerialLengths {
            counts: [0; MAX_SERIAL_LEN + 1],
            all_digit_lengths: 0,
        }
    }
}

impl SerialLengths {
    fn count(&mut self, serial: &str) {
        let length = serial.len().min(MAX_SERIAL_LEN);
        self.counts[length] += 1;
        if serial.bytes().all(|b| b.is_ascii_digit()) {
            self.all_digit_lengths |= 1 << length;
        }
    }

    /// The most common length, if at least two rows share it.
    fn usual(&self) -> Option<usize> {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count >= 2)
            .max_by_key(|(length, count)| (**count, *length))
            .map(|(length, _)| length)
    }

    /// The usual length, when some all-digit serial is shorter than it.
    fn usual_if_some_short(&self) -> Option<usize> {
        let usual = self.usual()?;
        let shorter = (1u64 << usual) - 1;
        (self.all_digit_lengths & shorter != 0).then_some(usual)
    }
}

/// The first read: fingerprints of who owns each serial, and serial lengths.
pub struct Hygiene {
    serial_fields: Vec<Field>,
    /// Columns not read by the operation: only these can carry a formula
    /// that validation has not already refused.
    free_columns: Vec<(usize, String)>,
    /// (serial, user) fingerprints of every valid row that names its user.
    owners: Vec<(u64, u64)>,
    /// One per serial field, in the order of `serial_fields`.
    lengths: Vec<SerialLengths>,
    formulas: Vec<(u64, Finding)>,
    prints: Fingerprinter,
}

impl Hygiene {
    pub fn new(op: &Operation, columns: &ColumnMap) -> Self {
        let serial_fields: Vec<Field> = op
            .fields()
            .filter(|f| matches!(f, Field::TokenSerialNumber | Field::DeviceSerialNumber))
            .collect();
        let used: Vec<usize> = op.fields().filter_map(|f| columns.position(f)).collect();
        let free_columns = columns
            .header
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(i))
            .map(|(i, name)| (i, crate::outcome::one_line(name, 40)))
            .collect();
        Hygiene {
            lengths: serial_fields
                .iter()
                .map(|_| SerialLengths::default())
                .collect(),
            serial_fields,
            free_columns,
            owners: Vec::new(),
            formulas: Vec::new(),
            prints: Fingerprinter::default(),
        }
    }

    /// Every row, valid or not: cells a spreadsheet would run.
    pub fn look_at_cells(&mut self, raw: &RawRow) {
        for (index, name) in &self.free_columns {
            let cell = raw.record.get(*index).unwrap_or_default();
            if is_formula(cell) {
                let finding = Finding::FormulaCell {
                    column: index + 1,
                    name: name.clone(),
                };
                self.formulas.push((raw.line, finding));
            }
        }
    }

    /// Every valid row: serial ownership and serial lengths.
    pub fn look_at_row(&mut self, checked: &Checked) {
        // A row naming its user by email is not compared: the same person
        // may appear by ID elsewhere, and only the tenant knows.
        let user = checked
            .value(Field::UserId)
            .map(|user| self.prints.of([user]));
        for (&field, lengths) in self.serial_fields.iter().zip(&mut self.lengths) {
            let Some(serial) = checked.value(field) else {
                continue;
            };
            lengths.count(serial);
            if let Some(user) = user {
                self.owners
                    .push((serial_print(&mut self.prints, field, serial), user));
            }
        }
    }

    /// What the first read makes suspect, and the findings already certain.
    pub fn suspects(mut self) -> SecondLook {
        self.owners.sort_unstable();
        self.owners.dedup();
        // After dedup, a serial listed twice has two different users.
        let shared = self
            .owners
            .windows(2)
            .filter(|pair| pair[0].0 == pair[1].0)
            .map(|pair| pair[0].0)
            .collect();
        let usual_lengths = self
            .serial_fields
            .iter()
            .zip(&self.lengths)
            .filter_map(|(field, lengths)| Some((*field, lengths.usual_if_some_short()?)))
            .collect();
        SecondLook {
            serial_fields: self.serial_fields,
            shared_prints: shared,
            usual_lengths,
            claims: HashMap::new(),
            found: self.formulas,
            prints: self.prints,
        }
    }
}

/// The second read, of distinct valid rows only: exact serial owners for
/// the suspect serials, and serials shorter than their column's usual.
pub struct SecondLook {
    serial_fields: Vec<Field>,
    shared_prints: HashSet<u64>,
    usual_lengths: HashMap<Field, usize>,
    /// (field, serial) → (line, user) for every row claiming a suspect serial.
    claims: HashMap<(Field, String), Vec<(u64, String)>>,
    found: Vec<(u64, Finding)>,
    prints: Fingerprinter,
}

impl SecondLook {
    /// Whether the second read has anything to find.
    pub fn is_needed(&self) -> bool {
        !self.shared_prints.is_empty() || !self.usual_lengths.is_empty()
    }

    pub fn look_at_row(&mut self, line: u64, checked: &Checked) {
        let user = checked.value(Field::UserId);
        for &field in &self.serial_fields {
            let Some(serial) = checked.value(field) else {
                continue;
            };
            if let Some(&usual) = self.usual_lengths.get(&field) {
                if serial.len() < usual && serial.bytes().all(|b| b.is_ascii_digit()) {
                    let length = serial.len();
                    let finding = Finding::ShortSerial {
                        field,
                        length,
                        usual,
                    };
                    self.found.push((line, finding));
                }
            }
            let Some(user) = user else {
                continue;
            };
            if self
                .shared_prints
                .contains(&serial_print(&mut self.prints, field, serial))
            {
                self.claims
                    .entry((field, serial.to_ascii_lowercase()))
                    .or_default()
                    .push((line, user.to_ascii_lowercase()));
            }
        }
    }

    /// Everything found, as (line, finding).
    pub fn findings(self) -> Vec<(u64, Finding)> {
        let mut found = self.found;
        for ((field, _), claims) in self.claims {
            let first_user = &claims[0].1;
            if claims.iter().all(|(_, user)| user == first_user) {
                continue;
            }
            for (line, _) in &claims {
                let lines = claims
                    .iter()
                    .map(|(other, _)| *other)
                    .filter(|other| other != line)
                    .collect();
                found.push((*line, Finding::SharedSerial { field, lines }));
            }
        }
        found
    }
}

fn serial_print(prints: &mut Fingerprinter, field: Field, serial: &str) -> u64 {
    prints.of([field.wire_name(), serial])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lengths_of(serials: &[&str]) -> SerialLengths {
        let mut lengths = SerialLengths::default();
        serials.iter().for_each(|serial| lengths.count(serial));
        lengths
    }

    #[test]
    fn a_short_all_digit_serial_is_measured_against_the_usual_length() {
        let short = lengths_of(&["014010008039", "014010008040", "14010008041"]);
        assert_eq!(short.usual_if_some_short(), Some(12));
        let same = lengths_of(&["014010008039", "014010008040"]);
        assert_eq!(same.usual_if_some_short(), None);
        let letters = lengths_of(&["014010008039", "014010008040", "A4010008041"]);
        assert_eq!(letters.usual_if_some_short(), None);
        let longer = lengths_of(&["0140100080", "0140100081", "014010008041"]);
        assert_eq!(longer.usual_if_some_short(), None);
    }

    #[test]
    fn the_usual_length_needs_two_serials() {
        assert_eq!(lengths_of(&["0140", "014010008039"]).usual(), None);
    }
}
