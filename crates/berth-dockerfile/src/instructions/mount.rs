//! `RUN --mount=type=cache,target=/root/.cache,...`: a CSV list of `key=value` options.
//! Values may use variables, so they are checked once expanded, at build time, as BuildKit
//! does; only the CSV syntax and the rule that `from` is a literal stage or image name are
//! checked when the Dockerfile is parsed.

use crate::error::MountError;

/// A `--mount` flag's options, as written (keys lower-cased), or expanded by
/// [`Instruction::expand`](crate::Instruction::expand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    fields: Vec<(String, Option<String>)>,
}

/// The kind of a `RUN --mount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    /// The name used in `type=`.
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

/// A checked `RUN --mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `type=`; `bind` when not given.
    pub kind: MountType,
    /// `from=`: the stage or image to mount from (the build context when `None`).
    pub from: Option<String>,
    /// `source=`/`src=`: the path in `from`; for secrets and SSH, the ID.
    pub source: Option<String>,
    /// `target=`/`dst=`/`destination=`: where it is mounted.
    pub target: Option<String>,
    /// `ro`/`readonly`/`rw`/`readwrite`; by default cache and tmpfs mounts are writable and
    /// the others read-only.
    pub readonly: bool,
    /// `size=` of a tmpfs, in bytes.
    pub size: Option<u64>,
    /// `id=`: the cache, secret or SSH agent ID.
    pub id: Option<String>,
    /// `sharing=` of a cache.
    pub sharing: Option<Sharing>,
    /// `required` secret or SSH agent: the build fails without it.
    pub required: bool,
    /// `env=`: the environment variable a secret is exposed as.
    pub env: Option<String>,
    /// `mode=` (octal) of a cache, secret or SSH socket.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl MountSpec {
    /// Reads a `--mount` value; `from` must not use variables.
    pub(super) fn parse(value: &str) -> Result<MountSpec, MountError> {
        let fields: Vec<(String, Option<String>)> = csv_fields(value)?
            .into_iter()
            .map(|field| match field.split_once('=') {
                Some((key, value)) => (key.to_lowercase(), Some(value.to_string())),
                None => (field.to_lowercase(), None),
            })
            .collect();
        for (key, value) in &fields {
            if let (true, Some(value)) = (key == "from", value) {
                if value.find('$').is_some_and(|i| i + 1 != value.len()) {
                    return Err(MountError::FromVariable);
                }
            }
        }
        Ok(MountSpec { fields })
    }

    /// The `from=` stage or image, as written.
    pub fn from(&self) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(key, _)| key == "from")
            .and_then(|(_, value)| value.as_deref())
    }

    /// The options, keys lower-cased; `None` for a key without `=`.
    pub fn fields(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }

    /// This spec with each value replaced by `f(value)`.
    pub(super) fn map_values<E>(
        &self,
        mut f: impl FnMut(&str) -> Result<String, E>,
    ) -> Result<MountSpec, E> {
        let fields = self
            .fields
            .iter()
            .map(|(key, value)| Ok((key.clone(), value.as_deref().map(&mut f).transpose()?)))
            .collect::<Result<_, E>>()?;
        Ok(MountSpec { fields })
    }

    /// The mount these options describe, checked as BuildKit does. Options apply in order, so
    /// `type=` must come before the options only some types take (`size`, `required`).
    pub fn to_mount(&self) -> Result<Mount, MountError> {
        let mut m = Mount {
            kind: MountType::Bind,
            from: None,
            source: None,
            target: None,
            readonly: false,
            size: None,
            id: None,
            sharing: None,
            required: false,
            env: None,
            mode: None,
            uid: None,
            gid: None,
        };
        let mut readonly = None;
        for (key, value) in &self.fields {
            let not_for_type = || MountError::KeyNotForType {
                key: key.clone(),
                mount_type: m.kind.as_str().to_string(),
            };
            let secret_or_ssh = matches!(m.kind, MountType::Secret | MountType::Ssh);
            let Some(value) = value else {
                match key.as_str() {
                    "readonly" | "ro" => readonly = Some(true),
                    "readwrite" | "rw" => readonly = Some(false),
                    "required" if secret_or_ssh => m.required = true,
                    "required" => return Err(not_for_type()),
                    _ => return Err(MountError::NotKeyValue(key.clone())),
                }
                continue;
            };
            let invalid = || MountError::InvalidValue {
                key: key.clone(),
                value: value.clone(),
            };
            match key.as_str() {
                "type" => {
                    m.kind = match value.to_lowercase().as_str() {
                        "bind" => MountType::Bind,
                        "cache" => MountType::Cache,
                        "tmpfs" => MountType::Tmpfs,
                        "secret" => MountType::Secret,
                        "ssh" => MountType::Ssh,
                        _ => return Err(MountError::UnknownType(value.clone())),
                    }
                }
                "from" => m.from = Some(value.clone()),
                "source" | "src" => m.source = Some(value.clone()),
                "target" | "dst" | "destination" => m.target = Some(value.clone()),
                "readonly" | "ro" => readonly = Some(go_bool(value).ok_or_else(invalid)?),
                "readwrite" | "rw" => readonly = Some(!go_bool(value).ok_or_else(invalid)?),
                "required" if secret_or_ssh => m.required = go_bool(value).ok_or_else(invalid)?,
                "size" if m.kind == MountType::Tmpfs => {
                    m.size = Some(ram_in_bytes(value).ok_or_else(invalid)?);
                }
                "required" | "size" => return Err(not_for_type()),
                "id" => m.id = Some(value.clone()),
                "sharing" => {
                    m.sharing = Some(match value.to_lowercase().as_str() {
                        "shared" => Sharing::Shared,
                        "private" => Sharing::Private,
                        "locked" => Sharing::Locked,
                        _ => return Err(MountError::UnknownSharing(value.clone())),
                    })
                }
                "mode" => m.mode = Some(u32::from_str_radix(value, 8).map_err(|_| invalid())?),
                "uid" => m.uid = Some(value.parse().map_err(|_| invalid())?),
                "gid" => m.gid = Some(value.parse().map_err(|_| invalid())?),
                "env" => m.env = Some(value.clone()),
                _ => {
                    return Err(MountError::UnknownKey {
                        key: key.clone(),
                        field: format!("{key}={value}"),
                    })
                }
            }
        }
        check(&mut m, readonly)?;
        Ok(m)
    }
}

/// The rules that hold between options.
fn check(m: &mut Mount, readonly: Option<bool>) -> Result<(), MountError> {
    let mount_type = m.kind.as_str().to_string();
    if !matches!(
        m.kind,
        MountType::Secret | MountType::Ssh | MountType::Cache
    ) {
        for (option, set) in [
            ("mode", m.mode.is_some()),
            ("uid", m.uid.is_some()),
            ("gid", m.gid.is_some()),
        ] {
            if set {
                return Err(MountError::FileInfoNotAllowed { option, mount_type });
            }
        }
    }
    m.readonly = readonly.unwrap_or(!matches!(m.kind, MountType::Cache | MountType::Tmpfs));
    if m.kind == MountType::Secret {
        if m.from.is_some() {
            return Err(MountError::SecretWithFrom);
        }
        if m.sharing.is_some() {
            return Err(MountError::SecretWithSharing);
        }
        if m.source.is_none() && m.target.is_none() && m.id.is_none() {
            return Err(MountError::SecretWithoutTarget);
        }
        if m.source.is_some() && m.id.is_some() {
            return Err(MountError::SecretSourceAndId);
        }
    }
    if m.sharing.is_some() && m.kind != MountType::Cache {
        return Err(MountError::SharingNotForType(mount_type));
    }
    Ok(())
}

/// Go's `strconv.ParseBool`.
fn go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Docker's `units.RAMInBytes`: a number, then an optional `k`, `m`, `g`, `t` or `p` (powers
/// of 1024), optionally followed by `i` and `b` (`64m`, `1.5GiB`, `512kb`).
fn ram_in_bytes(value: &str) -> Option<u64> {
    let number_len = value.len()
        - value
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
            .len();
    let (number, unit) = value.split_at(number_len);
    if !number.starts_with(|c: char| c.is_ascii_digit()) || number.ends_with('.') {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return None,
    };
    let bytes = number * 1024f64.powi(power);
    // Go converts with truncation; values beyond u64 are not sizes anyone means.
    (bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// One CSV record, as Go's `encoding/csv` reads it: fields split on `,`; a field that starts
/// with `"` is quoted (`""` is a quote inside it) and may hold commas.
fn csv_fields(line: &str) -> Result<Vec<String>, MountError> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(MountError::Csv(
                            "extraneous or missing \" in quoted-field".into(),
                        ))
                    }
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => {
                    return Err(MountError::Csv(
                        "extraneous or missing \" in quoted-field".into(),
                    ))
                }
            }
            continue;
        }
        loop {
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {
                    fields.push(field);
                    break;
                }
                Some('"') => return Err(MountError::Csv("bare \" in non-quoted-field".into())),
                Some(c) => field.push(c),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
