//! Printing: JSON for machines, aligned tables for people, files.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::CliError;

/// Prints a value as pretty JSON.
pub fn print_json<T: Serialize>(v: &T) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(v).map_err(|e| CliError::Usage(e.to_string()))?;
    println!("{s}");
    Ok(())
}

/// Prints a table with a header line, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = widths
                .get(i)
                .copied()
                .unwrap_or(0)
                .saturating_sub(c.chars().count());
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

/// Writes `text` to `out`, or to standard output.
pub fn write_out(out: Option<&Path>, text: &str) -> Result<(), CliError> {
    match out {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", p.display()))),
        None => {
            let mut o = std::io::stdout().lock();
            o.write_all(text.as_bytes())
                .map_err(|e| CliError::Usage(e.to_string()))
        }
    }
}
