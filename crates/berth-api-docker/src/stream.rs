//! Docker's stream framing and its human-readable durations.

/// One frame of Docker's multiplexed stream: `[stream, 0, 0, 0, len (u32 BE)]` + payload.
/// Stream 1 is stdout, 2 stderr.
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// go-units `HumanDuration`, which `docker ps` uses for "Up 5 minutes".
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds();
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let hours = secs / 3600;
    match secs {
        s if s < 1 => "Less than a second".into(),
        s if s < 60 => plural(s, "second"),
        s if s < 120 => "About a minute".into(),
        s if s < 3600 => plural(s / 60, "minute"),
        s if s < 7200 => "About an hour".into(),
        _ if hours < 48 => plural(hours, "hour"),
        _ if hours < 24 * 7 * 2 => plural(hours / 24, "day"),
        _ if hours < 24 * 30 * 2 => plural(hours / 24 / 7, "week"),
        _ if hours < 24 * 365 * 2 => plural(hours / 24 / 30, "month"),
        _ => plural(hours / 24 / 365, "year"),
    }
}

#[cfg(test)]
mod tests;
