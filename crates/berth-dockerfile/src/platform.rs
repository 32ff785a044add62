//! Platforms (`linux/arm64`, `linux/arm/v7`) as containerd's `platforms` package reads and
//! normalizes them, and the platform ARGs BuildKit defines for every build
//! (`TARGETPLATFORM`, `BUILDARCH`, ...).

use std::collections::BTreeMap;
use std::fmt;

/// An OS, architecture and variant, normalized (`aarch64` is `arm64`, `armhf` is `arm/v7`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    /// Empty when the architecture has none (`amd64`, `arm64`).
    pub variant: String,
}

/// A platform string that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlatformError(String);

const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
    "zos",
];

const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "ppc64",
    "ppc64le",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

fn normalize_os(os: &str) -> String {
    match os.to_lowercase().as_str() {
        "macos" => "darwin".to_string(),
        os => os.to_string(),
    }
}

fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let (arch, variant) = (arch.to_lowercase(), variant.to_lowercase());
    let (arch, variant) = match (arch.as_str(), variant.as_str()) {
        ("i386", _) => ("386", ""),
        ("x86_64" | "x86-64" | "amd64", "v1") => ("amd64", ""),
        ("x86_64" | "x86-64" | "amd64", v) => ("amd64", v),
        ("aarch64" | "arm64", "8" | "v8" | "v8.0") => ("arm64", ""),
        ("aarch64" | "arm64", "9" | "9.0" | "v9.0") => ("arm64", "v9"),
        ("aarch64" | "arm64", v) => ("arm64", v),
        ("armhf", _) => ("arm", "v7"),
        ("armel", _) => ("arm", "v6"),
        ("arm", "" | "7") => ("arm", "v7"),
        ("arm", "5") => ("arm", "v5"),
        ("arm", "6") => ("arm", "v6"),
        ("arm", "8") => ("arm", "v8"),
        (a, v) => (a, v),
    };
    (arch.to_string(), variant.to_string())
}

impl Platform {
    /// The platform this code was built for (the builder's own).
    pub fn host() -> Platform {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "loongarch64" => "loong64",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            "mips64" if cfg!(target_endian = "little") => "mips64le",
            other => other,
        };
        let (arch, variant) = normalize_arch(arch, "");
        Platform {
            os: normalize_os(std::env::consts::OS),
            arch,
            variant,
        }
    }

    /// Reads `os`, `arch`, `os/arch` or `os/arch/variant` and normalizes it (containerd's
    /// `platforms.Parse` then `Normalize`); a lone OS or architecture is completed from the host.
    pub fn parse(spec: &str) -> Result<Platform, PlatformError> {
        let invalid = |why: &str| PlatformError(format!("{spec:?}: {why}"));
        if spec.contains('*') {
            return Err(invalid("wildcards not yet supported"));
        }
        let parts: Vec<&str> = spec.splitn(4, '/').collect();
        let component = |part: &str, extra: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || extra.contains(c))
        };
        if !component(parts[0], "") || !parts[1..].iter().all(|p| component(p, ".")) {
            return Err(invalid("invalid platform component"));
        }
        let os = normalize_os(parts[0]);
        let (os, arch, variant) = match parts[..] {
            [_] if KNOWN_OS.contains(&os.as_str()) => {
                let host = Platform::host();
                (os, host.arch, host.variant)
            }
            [arch] => {
                let (arch, variant) = normalize_arch(arch, "");
                if !KNOWN_ARCH.contains(&arch.as_str()) {
                    return Err(invalid("unknown operating system or architecture"));
                }
                (Platform::host().os, arch, variant)
            }
            [_, arch] => {
                let (arch, variant) = normalize_arch(arch, "");
                (os, arch, variant)
            }
            [_, arch, variant] => {
                let (arch, variant) = normalize_arch(arch, variant);
                (os, arch, variant)
            }
            _ => return Err(invalid("cannot parse platform specifier")),
        };
        // Normalizing again gives `arm` its default `v7` and drops `arm64`'s `v8`.
        let (arch, variant) = normalize_arch(&arch, &variant);
        Ok(Platform { os, arch, variant })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// The ARGs BuildKit defines in the global scope of every build: `TARGETPLATFORM`,
/// `TARGETOS`, `TARGETARCH`, `TARGETVARIANT` for the platform being built, and `BUILDPLATFORM`,
/// `BUILDOS`, `BUILDARCH`, `BUILDVARIANT` for the builder's own. Usable in `FROM` lines; a
/// stage sees one after declaring it (`ARG TARGETARCH`).
pub fn predefined_args(build: &Platform, target: &Platform) -> BTreeMap<String, String> {
    let mut args = BTreeMap::new();
    for (prefix, platform) in [("BUILD", build), ("TARGET", target)] {
        args.insert(format!("{prefix}PLATFORM"), platform.to_string());
        args.insert(format!("{prefix}OS"), platform.os.clone());
        args.insert(format!("{prefix}ARCH"), platform.arch.clone());
        args.insert(format!("{prefix}VARIANT"), platform.variant.clone());
    }
    args
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
