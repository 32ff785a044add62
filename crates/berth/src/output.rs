//! Shared output: docker's humanized sizes and durations (go-units), list rows printed as a
//! table fitted to the terminal, as JSON lines (`{{json .}}`), as a `{{.Field}}` template, or
//! as quiet ids.

use std::io::Write;

use serde_json::{Map, Value};

/// One list entry: docker's field names (`ID`, `Image`, ...) with display strings, in order.
pub type Row = Vec<(&'static str, String)>;

/// A table column: which row field it shows, its header, and whether it may be shortened to
/// fit the terminal (ids and names never are; commands, images, statuses are).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub field: &'static str,
    pub header: &'static str,
    pub shrink: bool,
}

pub const fn col(field: &'static str, header: &'static str, shrink: bool) -> Column {
    Column {
        field,
        header,
        shrink,
    }
}

/// How a list command prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    /// `table {{.A}}\t{{.B}}`: a table of these fields.
    TableTemplate(String),
    /// One rendered line per row.
    Template(String),
}

impl Format {
    pub fn parse(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            None | Some("") | Some("table") => Self::Table,
            Some("json") | Some("{{json .}}") => Self::Json,
            Some(t) => match t.strip_prefix("table ") {
                Some(rest) => Self::TableTemplate(unescape(rest)),
                None => Self::Template(unescape(t)),
            },
        }
    }
}

/// Docker's templates accept `\t` and `\n` written literally on the command line.
fn unescape(t: &str) -> String {
    t.replace("\\t", "\t").replace("\\n", "\n")
}

/// Options shared by list printers.
#[derive(Debug, Clone)]
pub struct ListStyle {
    pub format: Format,
    pub quiet: bool,
    pub no_trunc: bool,
    /// Columns the terminal has; `None`: not a terminal, print at natural width.
    pub width: Option<usize>,
}

impl ListStyle {
    pub fn new(format: Option<&str>, quiet: bool, no_trunc: bool) -> Self {
        Self {
            format: Format::parse(format),
            quiet,
            no_trunc,
            width: terminal_width(),
        }
    }
}

/// The width of stdout's terminal (`COLUMNS` wins, for tests and pipes that want fitting).
pub fn terminal_width() -> Option<usize> {
    if let Some(cols) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(cols);
    }
    crate::tty::size(libc::STDOUT_FILENO).map(|(_, w)| usize::from(w))
}

/// Renders rows as the style asks; `id_field` is what `-q` prints.
pub fn render_list(rows: &[Row], columns: &[Column], style: &ListStyle, id_field: &str) -> String {
    if style.quiet {
        return rows
            .iter()
            .filter_map(|r| field(r, id_field))
            .map(|v| format!("{v}\n"))
            .collect();
    }
    match &style.format {
        Format::Json => rows.iter().map(|r| format!("{}\n", row_json(r))).collect(),
        Format::Template(t) => rows.iter().map(|r| format!("{}\n", fill(t, r))).collect(),
        Format::TableTemplate(t) => {
            let fields: Vec<String> = t.split('\t').map(str::to_string).collect();
            let header: Vec<String> = fields.iter().map(|f| template_header(f)).collect();
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| fields.iter().map(|f| fill(f, r)).collect())
                .collect();
            let shrink = vec![false; fields.len()];
            table(&header, &body, &shrink, None)
        }
        Format::Table => {
            let header: Vec<String> = columns.iter().map(|c| c.header.to_string()).collect();
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    columns
                        .iter()
                        .map(|c| field(r, c.field).unwrap_or_default().to_string())
                        .collect()
                })
                .collect();
            let shrink: Vec<bool> = columns.iter().map(|c| c.shrink).collect();
            let width = if style.no_trunc { None } else { style.width };
            table(&header, &body, &shrink, width)
        }
    }
}

pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn field<'a>(row: &'a Row, name: &str) -> Option<&'a str> {
    row.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A row as docker's `{{json .}}` prints it: an object of strings, keys in row order.
pub fn row_json(row: &Row) -> String {
    let map: Map<String, Value> = row
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
        .collect();
    Value::Object(map).to_string()
}

/// Replaces `{{.Field}}` (and `{{json .}}`) in `template` with the row's values.
pub fn fill(template: &str, row: &Row) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let expr = rest[start + 2..start + len].trim();
        if expr == "json ." {
            out.push_str(&row_json(row));
        } else if let Some(name) = expr.strip_prefix('.') {
            out.push_str(field(row, name).unwrap_or("<no value>"));
        } else {
            out.push_str(&rest[start..start + len + 2]);
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// The header docker prints for a `table {{.Field}}` column: the field, upper-cased, with
/// words split (`RunningFor` -> `RUNNING FOR`).
fn template_header(cell: &str) -> String {
    let mut out = String::new();
    let mut rest = cell;
    while let Some(start) = rest.find("{{.") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let name = rest[start + 3..start + len].trim();
        for (i, ch) in name.chars().enumerate() {
            if i > 0 && ch.is_uppercase() && !out.ends_with(' ') {
                let prev_upper = name[..name.char_indices().nth(i).map_or(0, |(b, _)| b)]
                    .chars()
                    .last()
                    .is_some_and(char::is_uppercase);
                if !prev_upper {
                    out.push(' ');
                }
            }
            out.extend(ch.to_uppercase());
        }
        rest = &rest[start + len + 2..];
    }
    out
}

/// Renders an inspect template against a JSON object: `{{.State.Status}}`, `{{json .Config}}`,
/// `{{json .}}`. Strings print bare, other values as JSON, missing fields as `<no value>`.
pub fn fill_value(template: &str, value: &Value) -> String {
    let lookup = |path: &str| -> Option<&Value> {
        path.split('.')
            .filter(|p| !p.is_empty())
            .try_fold(value, |v, key| v.get(key))
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let expr = rest[start + 2..start + len].trim();
        let (json, path) = match expr.strip_prefix("json ") {
            Some(p) => (true, p.trim()),
            None => (false, expr),
        };
        match (path.strip_prefix('.'), json) {
            (Some(p), true) => out.push_str(&lookup(p).map_or("null".into(), Value::to_string)),
            (Some(p), false) => match lookup(p) {
                Some(Value::String(s)) => out.push_str(s),
                Some(Value::Null) | None => out.push_str("<no value>"),
                Some(v) => out.push_str(&v.to_string()),
            },
            (None, _) => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Gap between columns, as docker's tabwriter padding.
const GAP: usize = 3;
/// A shrinkable column is never made narrower than this.
const MIN_SHRUNK: usize = 8;

fn display_width(s: &str) -> usize {
    s.chars().count()
}

/// Shortens `s` to `width` characters, ending with `…` as docker does.
pub fn ellipsis(s: &str, width: usize) -> String {
    if display_width(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Lays out a table with `GAP` spaces between columns. With `max_width`, shrinkable columns
/// give up width (widest first) until the table fits, and their cells are cut with `…`.
pub fn table(
    header: &[String],
    rows: &[Vec<String>],
    shrink: &[bool],
    max_width: Option<usize>,
) -> String {
    let n = header.len();
    let mut widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| display_width(c))
                .chain(std::iter::once(display_width(&header[i])))
                .max()
                .unwrap_or(0)
        })
        .collect();
    if let Some(max) = max_width {
        let total = |w: &[usize]| w.iter().sum::<usize>() + GAP * n.saturating_sub(1);
        while total(&widths) > max {
            let candidate = (0..n)
                .filter(|&i| shrink.get(i).copied().unwrap_or(false))
                .filter(|&i| widths[i] > MIN_SHRUNK.max(display_width(&header[i])))
                .max_by_key(|&i| widths[i]);
            // One column at a time, widest first: the excess is shared out evenly.
            let Some(i) = candidate else { break };
            widths[i] -= 1;
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, width) in widths.iter().enumerate() {
            let cell = ellipsis(cells.get(i).map_or("", String::as_str), *width);
            text.push_str(&cell);
            if i + 1 < n {
                let pad = width - display_width(&cell) + GAP;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header);
    for r in rows {
        line(r);
    }
    out
}

/// Prints `value` as indented JSON (inspect) or one line (lists).
pub fn json_pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Go's `%.<prec>g`, which go-units uses for sizes.
pub fn format_g(value: f64, prec: usize) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, value);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mantissa = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

fn scaled(size: f64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut size = size;
    let mut i = 0;
    while size >= base && i + 1 < units.len() {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// go-units `HumanSizeWithPrecision` (decimal units): `docker images` uses precision 3.
pub fn human_size_prec(bytes: f64, prec: usize) -> String {
    let (v, unit) = scaled(bytes, 1000.0, &DECIMAL_UNITS);
    format!("{}{unit}", format_g(v, prec))
}

/// go-units `HumanSize`: precision 4.
pub fn human_size(bytes: f64) -> String {
    human_size_prec(bytes, 4)
}

/// go-units `BytesSize` (binary units), used by `docker stats`.
pub fn bytes_size(bytes: f64) -> String {
    let (v, unit) = scaled(bytes, 1024.0, &BINARY_UNITS);
    format!("{}{unit}", format_g(v, 4))
}

/// go-units `RAMInBytes`: `512m`, `1g`, `1.5GB`, `1024` (binary multiples, as docker's flags).
pub fn parse_ram(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().ok()?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        "p" | "pb" | "pib" => 1024.0_f64.powi(5),
        _ => return None,
    };
    Some((num * mult) as i64)
}

/// go-units `HumanDuration`: "Up 5 minutes", "2 hours ago".
pub fn human_duration(secs: i64) -> String {
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

/// Labels as docker lists them: `k=v` pairs, sorted, comma-separated.
pub fn labels_text<'a>(labels: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let mut l: Vec<String> = labels
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    l.sort();
    l.join(",")
}

/// "5 minutes ago" for a unix time, relative to `now`.
pub fn ago(unix: i64, now: i64) -> String {
    format!("{} ago", human_duration(now - unix))
}

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// docker's local `CreatedAt`: `2024-01-02 15:04:05 +0000 UTC`.
pub fn created_at(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
        .unwrap_or_default()
}

/// `sha256:abcdef...` -> `abcdef012345` (12 hex digits), unless `no_trunc`.
pub fn short_id(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        return id.to_string();
    }
    let hex = id.split_once(':').map_or(id, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// docker's time flags: RFC 3339, unix seconds (with fraction), or a duration back from now
/// (`10m`, `1h30m`, `45s`). Returns unix seconds.
pub fn parse_time(value: &str, now: i64) -> Option<i64> {
    let value = value.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Some(t.timestamp());
    }
    if let Ok(t) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return t.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
    }
    if let Some(secs) = value.split('.').next().and_then(|s| s.parse::<i64>().ok()) {
        if value.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Some(secs);
        }
    }
    parse_duration(value).map(|d| now - d.as_secs() as i64)
}

/// Go durations as docker's flags take them: `300ms`, `30s`, `1m30s`, `2h`.
pub fn parse_duration(value: &str) -> Option<std::time::Duration> {
    let mut total = 0f64;
    let mut rest = value.trim();
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(std::time::Duration::ZERO);
    }
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..split].parse().ok()?;
        rest = &rest[split..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += num * scale;
        rest = &rest[unit_len..];
    }
    Some(std::time::Duration::from_secs_f64(total))
}

/// Natural order (`sortorder.NaturalLess`, which docker sorts `port` lines and networks with):
/// runs of digits compare as numbers, digits before other bytes, fewer leading zeros first.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da != db {
            return if da {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if !da {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        let run = |s: &[u8], mut k: usize| {
            while k < s.len() && s[k] == b'0' {
                k += 1;
            }
            let nonzero = k;
            while k < s.len() && s[k].is_ascii_digit() {
                k += 1;
            }
            (nonzero, k)
        };
        let ((nz_a, end_a), (nz_b, end_b)) = (run(a, i), run(b, j));
        let order = (end_a - nz_a)
            .cmp(&(end_b - nz_b))
            .then_with(|| a[nz_a..end_a].cmp(&b[nz_b..end_b]))
            .then(nz_a.cmp(&nz_b));
        if order != Ordering::Equal {
            return order;
        }
        (i, j) = (end_a, end_b);
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests;
