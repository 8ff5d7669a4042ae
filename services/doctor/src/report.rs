//! One check's outcome and the printed report.

use std::fmt;
use std::io::{self, Write};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Fail,
    /// Not needed on this node (no service here uses it), or it could not run because an earlier
    /// check failed.
    Skip,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Short name: `config`, `broker`, `model asr`, `onnxruntime`, `audio`, `espeak-ng`.
    pub name: String,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// The command (or edit) that fixes a failure.
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Ok, detail: detail.into(), fix: None }
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }

    pub fn skip(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Skip, detail: detail.into(), fix: None }
    }
}

/// Every check of a run, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// True when nothing failed (skips are fine).
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    /// `OK    name   detail`, and under each failure `      fix: command`.
    pub fn print(&self, out: &mut impl Write) -> io::Result<()> {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &self.checks {
            writeln!(out, "{:<5} {:<width$}  {}", c.status.to_string(), c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(out, "{:<5} {:<width$}  fix: {fix}", "", "")?;
            }
        }
        let failed = self.failures().count();
        if failed == 0 {
            writeln!(out, "All checks passed.")?;
        } else {
            writeln!(out, "{failed} check(s) failed.")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_fixes_under_failures() {
        let mut r = Report::default();
        r.push(Check::ok("config", "parses"));
        r.push(Check::skip("audio", "no audio service here"));
        assert!(r.all_ok());
        r.push(Check::fail("model asr", "missing", "hearth models pull whisper"));
        assert!(!r.all_ok());
        let mut out = Vec::new();
        r.print(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("OK    config"), "{text}");
        assert!(text.contains("FAIL  model asr  missing\n"), "{text}");
        assert!(text.contains("fix: hearth models pull whisper"), "{text}");
        assert!(text.ends_with("1 check(s) failed.\n"), "{text}");
    }
}
