//! Durations as Go's `time.ParseDuration` reads them (`HEALTHCHECK --interval=1m30s`): a sign,
//! then numbers with optional fractions, each followed by a unit (`ns`, `us`/`µs`, `ms`, `s`,
//! `m`, `h`).

/// Nanoseconds, negative for a leading `-`; `None` when not a duration or out of Go's range.
pub(super) fn parse(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let limit = 1u128 << 63;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (int, after) = rest.split_at(int_len);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => {
                let len =
                    after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                after.split_at(len)
            }
            None => ("", after),
        };
        if int.is_empty() && fraction.is_empty() {
            return None;
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut value = whole.checked_mul(unit).filter(|v| *v <= limit)?;
        if !fraction.is_empty() {
            // Go keeps the digits that fit; more precision than a nanosecond cannot matter.
            let digits = &fraction[..fraction.len().min(18)];
            let scale = 10u128.pow(u32::try_from(digits.len()).ok()?);
            value += digits.parse::<u128>().ok()? * unit / scale;
        }
        total = total.checked_add(value).filter(|v| *v <= limit)?;
        rest = after;
    }
    if !negative && total == limit {
        return None;
    }
    let total = i128::try_from(total).ok()?;
    Some(if negative { -total } else { total })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
