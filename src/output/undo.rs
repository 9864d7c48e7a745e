//! The undo file: `<results stem>.undo.csv` beside the results, the input of
//! the inverse operation listing exactly the targets the run changed. Like
//! the results, each line is written as its change is known and flushed
//! once the writer has caught up, so a killed run leaves a file exact for
//! what it did; a resumed run appends to it. It is a plain input file: the
//! inverse operation's columns, then `tenant` and `undoes`, which the input
//! reader copies to the results like any other column, so the file says
//! where and what it undoes without a comment line no CSV reader takes.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::{files, OutputError};
use crate::identity::UNDO_COLUMNS;
use crate::ops::{Field, Operation};

pub struct UndoWriter {
    path: PathBuf,
    file: File,
    columns: Vec<Field>,
    /// The tenant's origin (`scheme://host:port`) and the operation undone.
    stamp: [String; 2],
    rows: u64,
}

impl UndoWriter {
    /// Opens the undo file of `undone`'s run: a new file (refused when one
    /// exists, unless `force`), or, for a resumed run, the earlier run's
    /// file to append to, whose header must be this one.
    pub fn open(
        path: &Path,
        undone: &'static Operation,
        inverse: &'static Operation,
        tenant: &str,
        resume: bool,
        force: bool,
    ) -> Result<Self, OutputError> {
        let columns: Vec<Field> = inverse.fields().collect();
        let header: Vec<&str> = columns
            .iter()
            .map(|f| f.wire_name())
            .chain(UNDO_COLUMNS)
            .collect();
        let existing = resume && path.exists();
        let file = match existing {
            true => {
                check_header(path, &header)?;
                files::open_append(path)?
            }
            false => files::create_in_place(path, force)?,
        };
        let mut writer = UndoWriter {
            path: path.to_owned(),
            file,
            columns,
            stamp: [tenant.to_owned(), undone.name.to_owned()],
            rows: 0,
        };
        if !existing {
            writer.write_line(&header)?;
        }
        Ok(writer)
    }

    /// Writes one changed target to the file at once, as one write: a
    /// process killed at any moment leaves whole lines only, and the line
    /// is there before the row's result, so a resumed run, which skips the
    /// row, never loses it.
    pub fn append(&mut self, values: &[(Field, String)]) -> Result<(), OutputError> {
        let cells: Vec<String> = self
            .columns
            .iter()
            .map(|field| {
                let value = values.iter().find(|(f, _)| f == field);
                // Verbatim, as the retry file copies rows: it is the
                // tool's input, and the reader takes cells as they are.
                value.map_or(String::new(), |(_, v)| v.clone())
            })
            .chain(self.stamp.iter().cloned())
            .collect();
        self.write_line(&cells)?;
        self.rows += 1;
        Ok(())
    }

    fn write_line<T: AsRef<[u8]>>(&mut self, cells: &[T]) -> Result<(), OutputError> {
        use std::io::Write as _;
        // Formatted apart, so the line reaches the file whole.
        let mut line = csv::Writer::from_writer(Vec::new());
        line.write_record(cells).map_err(|e| self.error(e))?;
        let line = line.into_inner().map_err(|e| self.io(e.into_error()))?;
        self.file.write_all(&line).map_err(|e| self.io(e))
    }

    /// Syncs the file; the lines this run wrote.
    pub fn finish(self) -> Result<u64, OutputError> {
        self.file.sync_data().map_err(|e| self.io(e))?;
        Ok(self.rows)
    }

    fn io(&self, source: std::io::Error) -> OutputError {
        OutputError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn error(&self, source: csv::Error) -> OutputError {
        OutputError::Csv {
            path: self.path.clone(),
            source,
        }
    }
}

/// A resumed run appends only to an undo file of the same columns.
fn check_header(path: &Path, header: &[&str]) -> Result<(), OutputError> {
    let unusable = |reason: String| OutputError::Unusable {
        flag: "the undo file".into(),
        path: path.to_owned(),
        reason,
    };
    let mut first = String::new();
    File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_string(&mut first))
        .map_err(|e| unusable(e.to_string()))?;
    let found = first.lines().next().unwrap_or_default();
    if found != header.join(",") {
        return Err(unusable(format!(
            "its header {found:?} is not the {:?} this run writes; move it away to start a new one",
            header.join(",")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{DS100_DISABLE, DS100_ENABLE};

    fn line(user: &str) -> Vec<(Field, String)> {
        vec![
            (Field::UserId, user.to_owned()),
            (Field::DeviceSerialNumber, "140100080".to_owned()),
        ]
    }

    #[test]
    fn a_resumed_run_appends_below_the_same_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.undo.csv");
        let open = |resume| {
            UndoWriter::open(
                &path,
                &DS100_DISABLE,
                &DS100_ENABLE,
                "http://t:1",
                resume,
                false,
            )
        };
        let mut first = open(false).unwrap();
        first.append(&line("a")).unwrap();
        assert_eq!(first.finish().unwrap(), 1);
        assert!(
            open(false).is_err(),
            "an existing undo file is not replaced"
        );
        let mut second = open(true).unwrap();
        second.append(&line("b")).unwrap();
        second.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "userId,deviceSerialNumber,email,username,tenant,undoes\n\
             a,140100080,,,http://t:1,ds100-disable\n\
             b,140100080,,,http://t:1,ds100-disable\n"
        );
    }

    #[test]
    fn another_operations_undo_file_is_not_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.undo.csv");
        std::fs::write(&path, "userId\nx\n").unwrap();
        let err = UndoWriter::open(&path, &DS100_DISABLE, &DS100_ENABLE, "t", true, false);
        assert!(matches!(err, Err(OutputError::Unusable { .. })));
    }
}
