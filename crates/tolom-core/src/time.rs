//! Time: the Asia/Bishkek display zone. "Now" comes from the
//! [`crate::ports::Clock`] port.
//!
//! tolom stores UTC and shows times in Asia/Bishkek, which has been
//! UTC+06:00 all year since 2005 (no daylight saving), so a fixed offset is
//! exact for every time tolom handles.

use chrono::{DateTime, FixedOffset, Offset, Utc};

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
