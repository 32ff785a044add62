//! OCI device rules, validated once and rendered for v1 (devices.allow/deny lines) or compiled
//! for v2 (see `ebpf`).

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Error, Result};

/// Access bits, valued as the kernel's BPF_DEVCG_ACC_* so the eBPF filter can use them directly.
pub(crate) const ACC_MKNOD: u32 = 1;
pub(crate) const ACC_READ: u32 = 2;
pub(crate) const ACC_WRITE: u32 = 4;
pub(crate) const ACC_ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    All,
    Block,
    Char,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub allow: bool,
    pub kind: Kind,
    /// `None` is the wildcard "*".
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u32,
}

impl Rule {
    /// Validates an OCI rule. FIFO rules yield `None`: the device controller never sees FIFOs,
    /// and the kernel rejects the "p" type.
    pub fn from_oci(d: &LinuxDeviceCgroup) -> Result<Option<Self>> {
        let kind = match d.typ().unwrap_or_default() {
            LinuxDeviceType::A => Kind::All,
            LinuxDeviceType::B => Kind::Block,
            LinuxDeviceType::C | LinuxDeviceType::U => Kind::Char,
            LinuxDeviceType::P => return Ok(None),
        };
        Ok(Some(Self {
            allow: d.allow(),
            kind,
            major: number(d.major())?,
            minor: number(d.minor())?,
            access: parse_access(d.access().as_deref())?,
        }))
    }

    /// Matches every device and every access.
    pub fn is_wildcard(&self) -> bool {
        self.kind == Kind::All
            && self.major.is_none()
            && self.minor.is_none()
            && self.access == ACC_ALL
    }

    /// The lines for v1's devices.allow or devices.deny.
    pub fn v1_lines(&self) -> Vec<String> {
        // The kernel reads any line starting with "a" as "switch the whole list to allow-all
        // (or deny-all)" and ignores the rest, so only a true wildcard may be written that way;
        // a narrower "a" rule becomes one block and one char rule.
        if self.is_wildcard() {
            return vec!["a".to_owned()];
        }
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        let mut access = String::with_capacity(3);
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        let kinds: &[char] = match self.kind {
            Kind::All => &['b', 'c'],
            Kind::Block => &['b'],
            Kind::Char => &['c'],
        };
        kinds
            .iter()
            .map(|k| format!("{k} {}:{} {access}", num(self.major), num(self.minor)))
            .collect()
    }
}

/// OCI leaves major/minor unset (or -1, in runc's convention) for "*".
fn number(n: Option<i64>) -> Result<Option<u32>> {
    match n {
        None => Ok(None),
        Some(n) if n < 0 => Ok(None),
        // The eBPF filter compares against a sign-extended 32-bit immediate.
        Some(n) => i32::try_from(n)
            .map(|n| Some(n.unsigned_abs()))
            .map_err(|_| Error::InvalidDeviceNumber(n)),
    }
}

/// An absent or empty access means "rwm", as in runc and crun.
fn parse_access(access: Option<&str>) -> Result<u32> {
    let access = access.unwrap_or("");
    if access.is_empty() {
        return Ok(ACC_ALL);
    }
    access.chars().try_fold(0, |bits, c| match c {
        'r' => Ok(bits | ACC_READ),
        'w' => Ok(bits | ACC_WRITE),
        'm' => Ok(bits | ACC_MKNOD),
        _ => Err(Error::InvalidDeviceAccess(access.to_owned())),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    use super::*;

    pub(crate) fn oci(
        allow: bool,
        typ: LinuxDeviceType,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .typ(typ)
            .access(access);
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        b.build().unwrap()
    }

    fn line(d: LinuxDeviceCgroup) -> String {
        Rule::from_oci(&d).unwrap().unwrap().v1_lines().join("|")
    }

    #[test]
    fn v1_lines() {
        assert_eq!(line(oci(false, LinuxDeviceType::A, None, None, "rwm")), "a");
        assert_eq!(line(oci(true, LinuxDeviceType::A, None, None, "")), "a");
        assert_eq!(
            line(oci(true, LinuxDeviceType::C, Some(1), Some(3), "mwr")),
            "c 1:3 rwm"
        );
        assert_eq!(
            line(oci(true, LinuxDeviceType::B, Some(8), Some(-1), "r")),
            "b 8:* r"
        );
        assert_eq!(
            line(oci(true, LinuxDeviceType::U, None, None, "m")),
            "c *:* m"
        );
        assert_eq!(
            line(oci(true, LinuxDeviceType::A, None, None, "r")),
            "b *:* r|c *:* r"
        );
    }

    #[test]
    fn invalid_rules() {
        let bad = oci(true, LinuxDeviceType::C, Some(1), Some(3), "rx");
        assert!(matches!(
            Rule::from_oci(&bad),
            Err(Error::InvalidDeviceAccess(_))
        ));
        let big = oci(true, LinuxDeviceType::C, Some(1 << 40), None, "r");
        assert!(matches!(
            Rule::from_oci(&big),
            Err(Error::InvalidDeviceNumber(_))
        ));
        let fifo = oci(true, LinuxDeviceType::P, None, None, "r");
        assert_eq!(Rule::from_oci(&fifo).unwrap(), None);
    }
}
