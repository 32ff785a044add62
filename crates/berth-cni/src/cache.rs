//! The result cache, laid out as libcni's: `<cache dir>/results/<network>-<container>-<ifname>`
//! holds the ADD result and the arguments of the attachment, so DEL, CHECK and GC work after
//! the daemon restarts. The JSON has libcni's field names (`cniCacheV1`), so `cnitool` and
//! friends can read it; libcni's base64 copy of the configuration is left out.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::capabilities::CapabilityArgs;
use crate::client::RuntimeConf;
use crate::error::Error;
use crate::result::{CniResult, ResultError};
use crate::version::Version;

const KIND: &str = "cniCacheV1";

/// One attachment as cached by ADD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedAttachment {
    kind: String,
    pub container_id: String,
    #[serde(rename = "ifName")]
    pub ifname: String,
    #[serde(rename = "networkName")]
    pub network: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cni_args: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub capability_args: CapabilityArgs,
    /// In the version of the list it was added with. While an ADD runs, the result of the
    /// plugins that ran so far, absent before the first one answered; it stays so when the
    /// caller died in the middle or the undo of a failed ADD failed: the entry then tells GC
    /// what to delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
}

fn is_default(args: &CapabilityArgs) -> bool {
    args == &CapabilityArgs::default()
}

impl CachedAttachment {
    pub(crate) fn new(network: &str, rt: &RuntimeConf, result: Option<Value>) -> Self {
        Self {
            kind: KIND.to_owned(),
            container_id: rt.container_id.clone(),
            ifname: rt.ifname.clone(),
            network: network.to_owned(),
            netns: rt.netns.clone(),
            cni_args: rt.args.clone(),
            capability_args: rt.capability_args.clone(),
            result,
        }
    }

    /// The arguments it was added with: what a DEL of it needs.
    pub fn runtime_conf(&self) -> RuntimeConf {
        RuntimeConf {
            container_id: self.container_id.clone(),
            netns: self.netns.clone(),
            ifname: self.ifname.clone(),
            args: self.cni_args.clone(),
            capability_args: self.capability_args.clone(),
        }
    }

    /// The cached ADD result, in the 1.x model.
    pub fn result(&self) -> Result<Option<CniResult>, ResultError> {
        self.result
            .clone()
            .map(|value| CniResult::from_value(value, Version::V1_0_0))
            .transpose()
    }

    pub(crate) fn raw_result(&self) -> Option<&Value> {
        self.result.as_ref()
    }
}

/// The `results` directory of a cache directory.
#[derive(Debug, Clone)]
pub(crate) struct ResultCache {
    dir: PathBuf,
}

/// Makes temporary names unique among the threads of this process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl ResultCache {
    pub(crate) fn new(cache_dir: &Path) -> Self {
        Self {
            dir: cache_dir.join("results"),
        }
    }

    /// The file of an attachment. Safe as a path: network names, container ids and interface
    /// names are validated before any cache access (no `/`, no leading `.`).
    pub(crate) fn path(&self, network: &str, container_id: &str, ifname: &str) -> PathBuf {
        self.dir.join(format!("{network}-{container_id}-{ifname}"))
    }

    pub(crate) fn read(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> Result<Option<CachedAttachment>, Error> {
        let path = self.path(network, container_id, ifname);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(cache_error("reading", &path)(source)),
        };
        let entry: CachedAttachment = serde_json::from_slice(&bytes)
            .map_err(io::Error::from)
            .map_err(cache_error("reading", &path))?;
        if entry.kind != KIND {
            let source = io::Error::new(
                io::ErrorKind::InvalidData,
                format!("kind {:?} is not {KIND}", entry.kind),
            );
            return Err(cache_error("reading", &path)(source));
        }
        Ok(Some(entry))
    }

    /// Replaces the entry atomically: a killed caller leaves the old entry or the new one,
    /// never half. Not fsynced, as libcni does not: what an entry serves (the arguments and
    /// result a DEL hands the plugins) is moot after a host crash, which takes the namespaces,
    /// interfaces and rules with it (host-local releases by container id, GC sweeps the rest);
    /// the file and directory fsyncs were ~6 ms of every pod start on this VM.
    pub(crate) fn write(&self, entry: &CachedAttachment) -> Result<(), Error> {
        let path = self.path(&entry.network, &entry.container_id, &entry.ifname);
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(cache_error("creating", &self.dir))?;
        let bytes = serde_json::to_vec(entry)
            .map_err(io::Error::from)
            .map_err(cache_error("encoding", &path))?;
        let tmp = self.dir.join(format!(
            ".{}.{}.{}.tmp",
            entry.container_id,
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = write_new(&tmp, &bytes).and_then(|()| fs::rename(&tmp, &path));
        if let Err(source) = written {
            let _ = fs::remove_file(&tmp);
            return Err(cache_error("writing", &path)(source));
        }
        Ok(())
    }

    /// Removes the entry; a missing one is fine (DEL is idempotent).
    pub(crate) fn remove(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> Result<(), Error> {
        let path = self.path(network, container_id, ifname);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(cache_error("removing", &path)(e)),
            _ => Ok(()),
        }
    }

    /// Every readable entry. Entries of other tools, or that do not parse, are skipped as
    /// libcni skips them: nothing can be done with them without their arguments.
    pub(crate) fn list(&self) -> Result<Vec<CachedAttachment>, Error> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(cache_error("listing", &self.dir)(source)),
        };
        let mut attachments = Vec::new();
        for entry in entries {
            let entry = entry.map_err(cache_error("listing", &self.dir))?;
            if entry.file_name().as_encoded_bytes().starts_with(b".") {
                continue; // a temporary file of a write in progress
            }
            let parsed = fs::read(entry.path())
                .ok()
                .and_then(|bytes| serde_json::from_slice::<CachedAttachment>(&bytes).ok());
            if let Some(attachment) = parsed.filter(|a| a.kind == KIND) {
                attachments.push(attachment);
            }
        }
        attachments.sort_by(|a, b| {
            (&a.network, &a.container_id, &a.ifname).cmp(&(&b.network, &b.container_id, &b.ifname))
        });
        Ok(attachments)
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

fn cache_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Cache {
        action,
        path,
        source,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
