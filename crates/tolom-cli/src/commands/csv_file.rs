//! What the CSV imports (`codes import`, `payments import-external`)
//! share: reading the file, checking its header, counting its rows for the
//! progress bar, and reading a row's fields by column name (any order, any
//! case) with the row's line for its error.

use std::io::Cursor;
use std::path::Path;

use csv::StringRecord;

use crate::CliError;

/// A CSV file with a header line, read whole.
pub(crate) struct CsvFile {
    headers: StringRecord,
    total: u64,
    reader: csv::Reader<Cursor<Vec<u8>>>,
}

impl CsvFile {
    /// Reads `path` and its header, which must name every column of
    /// `required` (`columns` is what the error lists as the file's
    /// columns).
    pub(crate) fn open(path: &Path, required: &[&str], columns: &str) -> Result<Self, CliError> {
        let text = std::fs::read(path)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
        let total = text
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            .saturating_sub(1) as u64;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(Cursor::new(text));
        let headers = reader
            .headers()
            .map_err(|e| CliError::Usage(format!("{}: no header line: {e}", path.display())))?
            .clone();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !headers.iter().any(|h| h.trim().eq_ignore_ascii_case(c)))
            .collect();
        if !missing.is_empty() {
            return Err(CliError::Usage(format!(
                "{}: the header has no {} column (the columns are {columns})",
                path.display(),
                missing.join(", "),
            )));
        }
        Ok(CsvFile {
            headers,
            total,
            reader,
        })
    }

    /// The number of rows, as lines after the header (for progress; a
    /// quoted field over several lines makes it an upper bound).
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Each row with its line in the file, or why it cannot be read.
    pub(crate) fn rows(
        &mut self,
    ) -> impl Iterator<Item = (u64, Result<StringRecord, String>)> + '_ {
        self.reader
            .records()
            .zip(2u64..)
            .map(|(rec, next)| match rec {
                Ok(r) => (r.position().map_or(next, |p| p.line()), Ok(r)),
                Err(e) => (
                    e.position().map_or(next, |p| p.line()),
                    Err(format!("unreadable row: {e}")),
                ),
            })
    }

    /// The header line.
    pub(crate) fn headers(&self) -> &StringRecord {
        &self.headers
    }
}

/// `rec`'s field in column `name` of `headers`, trimmed; `None` when the
/// column is absent or the field empty.
pub(crate) fn col<'a>(
    headers: &StringRecord,
    rec: &'a StringRecord,
    name: &str,
) -> Option<&'a str> {
    headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
        .and_then(|i| rec.get(i))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}
