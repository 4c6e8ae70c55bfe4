//! Time: the Asia/Bishkek display zone. "Now" comes from the
//! [`crate::ports::Clock`] port.
//!
//! tolom stores UTC and shows times in Asia/Bishkek, which has been
//! UTC+06:00 all year since 2005 (no daylight saving), so a fixed offset is
//! exact for every time tolom handles.

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};

/// The Asia/Bishkek offset, UTC+06:00.
pub fn bishkek() -> FixedOffset {
    // 6 * 3600 is within the valid range, so this never falls back.
    FixedOffset::east_opt(6 * 3600).unwrap_or(Utc.fix())
}

/// Converts a UTC instant to Bishkek local time.
pub fn to_bishkek(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&bishkek())
}

/// Formats an instant as Bishkek local time, `2026-11-25 18:30:00 (UTC+06:00)`.
pub fn format_bishkek(t: DateTime<Utc>) -> String {
    to_bishkek(t)
        .format("%Y-%m-%d %H:%M:%S (UTC+06:00)")
        .to_string()
}

/// Parses what operators type for a time: `2026-11-25` (a day in
/// Asia/Bishkek: its first instant, or with `end` the next day's first
/// instant, for exclusive ranges) or an RFC 3339 instant.
///
/// ```
/// use tolom_core::time::parse_when;
/// let start = parse_when("2026-11-25", false).unwrap();
/// assert_eq!(start.to_rfc3339(), "2026-11-24T18:00:00+00:00");
/// let end = parse_when("2026-11-25", true).unwrap();
/// assert_eq!(end.to_rfc3339(), "2026-11-25T18:00:00+00:00");
/// assert!(parse_when("25.11.2026", false).is_none());
/// ```
pub fn parse_when(s: &str, end: bool) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    let day = if end { day.succ_opt()? } else { day };
    day.and_hms_opt(0, 0, 0)?
        .and_local_timezone(bishkek())
        .single()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn bishkek_is_utc_plus_six() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 18, 30, 0).unwrap();
        assert_eq!(format_bishkek(t), "2026-11-26 00:30:00 (UTC+06:00)");
    }
}
