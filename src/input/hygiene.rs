//! Input hygiene: the cross-row signs of a file that went through a
//! spreadsheet or was pasted together in a hurry. One serial claimed by two
//! users, serials that lost their leading zeros, cells that would run as
//! formulas. The scan feeds every row through [`Hygiene`] and turns what it
//! found into findings.

use std::collections::HashMap;

use super::{Checked, ColumnMap, Finding, RawRow};
use crate::ops::{Field, Operation};

/// Where each serial was seen, and with which users.
struct SerialUse {
    first_user: String,
    lines: Vec<u64>,
    shared: bool,
}

/// Lengths seen in one serial column, and the all-digit values that might
/// be short.
#[derive(Default)]
struct SerialLengths {
    counts: HashMap<usize, u64>,
    all_digits: Vec<(u64, usize)>,
}

impl SerialLengths {
    /// The most common length, if at least two rows share it.
    fn usual(&self) -> Option<usize> {
        self.counts
            .iter()
            .filter(|(_, count)| **count >= 2)
            .max_by_key(|(length, count)| (**count, **length))
            .map(|(length, _)| *length)
    }
}

pub struct Hygiene {
    serial_fields: Vec<Field>,
    /// Columns not read by the operation: only these can carry a formula
    /// that validation has not already refused.
    free_columns: Vec<(usize, String)>,
    uses: HashMap<(Field, String), SerialUse>,
    lengths: HashMap<Field, SerialLengths>,
    formulas: Vec<(u64, Finding)>,
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
            .map(|(i, name)| (i, crate::output::one_line(name, 40)))
            .collect();
        Hygiene {
            serial_fields,
            free_columns,
            uses: HashMap::new(),
            lengths: HashMap::new(),
            formulas: Vec::new(),
        }
    }

    /// Every row, valid or not: cells a spreadsheet would run.
    pub fn look_at_cells(&mut self, raw: &RawRow) {
        for (index, name) in &self.free_columns {
            let cell = raw.record.get(*index).unwrap_or_default();
            if starts_like_formula(cell) {
                let finding = Finding::FormulaCell {
                    column: index + 1,
                    name: name.clone(),
                };
                self.formulas.push((raw.line, finding));
            }
        }
    }

    /// Each distinct valid row once: serial ownership and serial lengths.
    pub fn look_at_row(&mut self, line: u64, checked: &Checked) {
        // A row naming its user by email is not compared: the same person
        // may appear by ID elsewhere, and only the tenant knows.
        let user = checked.value(Field::UserId).map(str::to_ascii_lowercase);
        for field in self.serial_fields.clone() {
            let Some(serial) = checked.value(field) else {
                continue;
            };
            let lengths = self.lengths.entry(field).or_default();
            *lengths.counts.entry(serial.len()).or_default() += 1;
            if serial.bytes().all(|b| b.is_ascii_digit()) {
                lengths.all_digits.push((line, serial.len()));
            }
            let Some(user) = user.clone() else {
                continue;
            };
            let serial_use = self
                .uses
                .entry((field, serial.to_ascii_lowercase()))
                .or_insert_with(|| SerialUse {
                    first_user: user.clone(),
                    lines: Vec::new(),
                    shared: false,
                });
            serial_use.lines.push(line);
            serial_use.shared |= serial_use.first_user != user;
        }
    }

    /// Everything found, as (line, finding).
    pub fn findings(self) -> Vec<(u64, Finding)> {
        let mut found = self.formulas;
        for ((field, _), serial_use) in self.uses {
            if !serial_use.shared {
                continue;
            }
            for &line in &serial_use.lines {
                let others: Vec<u64> = serial_use
                    .lines
                    .iter()
                    .copied()
                    .filter(|l| *l != line)
                    .collect();
                let lines = others;
                found.push((line, Finding::SharedSerial { field, lines }));
            }
        }
        for (field, lengths) in self.lengths {
            let Some(usual) = lengths.usual() else {
                continue;
            };
            for &(line, length) in &lengths.all_digits {
                if length < usual {
                    let finding = Finding::ShortSerial {
                        field,
                        length,
                        usual,
                    };
                    found.push((line, finding));
                }
            }
        }
        found
    }
}

/// The characters that make a spreadsheet treat a cell as a formula.
fn starts_like_formula(cell: &str) -> bool {
    matches!(
        cell.trim_start().chars().next(),
        Some('=' | '+' | '-' | '@')
    )
}
