//! RFC 3339 timestamps with nanoseconds in UTC, formatted exactly like Go's `time.RFC3339Nano`
//! (trailing zeros of the fraction dropped), because Docker's log readers parse that. Hand-written
//! so the shim does not pull in a date crate for one format.

use std::time::{SystemTime, UNIX_EPOCH};

/// A wall-clock instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    pub fn now() -> Self {
        // A clock before 1970 is not worth an error path; it prints as the epoch.
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos(),
        }
    }

    #[cfg(test)]
    pub fn from_parts(secs: i64, nanos: u32) -> Self {
        Self { secs, nanos }
    }

    /// Appends e.g. `2024-05-06T07:08:09.12345Z`.
    pub fn write_rfc3339_nano(&self, out: &mut Vec<u8>) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        push_num(out, y, 4);
        out.push(b'-');
        push_num(out, i64::from(m), 2);
        out.push(b'-');
        push_num(out, i64::from(d), 2);
        out.push(b'T');
        push_num(out, rem / 3600, 2);
        out.push(b':');
        push_num(out, rem / 60 % 60, 2);
        out.push(b':');
        push_num(out, rem % 60, 2);
        if self.nanos != 0 {
            let mut frac = self.nanos;
            let mut digits = 9;
            while frac.is_multiple_of(10) {
                frac /= 10;
                digits -= 1;
            }
            out.push(b'.');
            push_num(out, i64::from(frac), digits);
        }
        out.push(b'Z');
    }

    pub fn to_rfc3339_nano(self) -> String {
        let mut v = Vec::with_capacity(32);
        self.write_rfc3339_nano(&mut v);
        // Only ASCII digits and separators were written.
        String::from_utf8_lossy(&v).into_owned()
    }
}

/// Zero-padded decimal of a non-negative number.
fn push_num(out: &mut Vec<u8>, n: i64, width: usize) {
    let s = n.to_string();
    for _ in s.len()..width {
        out.push(b'0');
    }
    out.extend_from_slice(s.as_bytes());
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // d is 1..=31 and m 1..=12 by construction.
    (y, m as u32, d as u32)
}

#[cfg(test)]
mod tests;
