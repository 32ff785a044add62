//! The client: runs a configuration list for one attachment (ADD, DEL, CHECK) the way the
//! spec's section 3 and libcni do, asks plugins for their status and versions, and
//! garbage-collects attachments that no longer exist.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cache::{CachedAttachment, ResultCache};
use crate::capabilities::CapabilityArgs;
use crate::config::{valid_name, NetworkConfigList, PluginConfig, Problem};
use crate::error::{Command, Error, InvokeError, Operation};
use crate::invoke::{AttachmentEnv, Invoker};
use crate::result::{convert, CniResult, ResultError};
use crate::version::{Version, VersionInfo};

/// The spec's runtime parameters of one attachment: a container's interface on a network.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeConf {
    pub container_id: String,
    /// The network namespace path; needed for ADD and CHECK, optional for DEL (it may be gone).
    pub netns: Option<PathBuf>,
    /// The interface name inside the container.
    pub ifname: String,
    /// `CNI_ARGS` pairs (`K8S_POD_NAME`, `IgnoreUnknown`, ...).
    pub args: Vec<(String, String)>,
    pub capability_args: CapabilityArgs,
}

impl RuntimeConf {
    pub fn new(
        container_id: impl Into<String>,
        netns: impl Into<PathBuf>,
        ifname: impl Into<String>,
    ) -> Self {
        Self {
            container_id: container_id.into(),
            netns: Some(netns.into()),
            ifname: ifname.into(),
            ..Self::default()
        }
    }

    fn validate(&self, command: Command) -> Result<(), Error> {
        let invalid = |what, value: &str, reason| {
            Err(Error::InvalidArgument {
                what,
                value: value.to_owned(),
                reason,
            })
        };
        if !valid_name(&self.container_id) {
            return invalid(
                "container id",
                &self.container_id,
                "must start with a letter or digit followed by letters, digits, '_', '.' or '-'",
            );
        }
        let name = &self.ifname;
        if name.is_empty()
            || name.len() > 15
            || name == "."
            || name == ".."
            || name.contains(|c: char| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
        {
            return invalid(
                "interface name",
                name,
                "must be 1 to 15 bytes, not '.' or '..', without '/', ':' or whitespace",
            );
        }
        if command != Command::Del && self.netns.is_none() {
            return invalid("network namespace", "", "ADD and CHECK need one");
        }
        for (key, value) in &self.args {
            if key.is_empty() || key.contains(['=', ';']) || value.contains(';') {
                return invalid(
                    "CNI_ARGS pair",
                    &format!("{key}={value}"),
                    "keys must be non-empty without '=' or ';', values without ';'",
                );
            }
        }
        Ok(())
    }

    fn env(&self) -> AttachmentEnv<'_> {
        let pairs: Vec<String> = self.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        AttachmentEnv {
            container_id: &self.container_id,
            netns: self.netns.as_deref(),
            ifname: &self.ifname,
            args: pairs.join(";"),
        }
    }
}

/// An attachment GC must keep: the spec's `cni.dev/valid-attachments` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GcAttachment {
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
}

/// A CNI client over a set of plugin directories and a result cache. It keeps no state in
/// memory: everything it knows of attachments is in the cache directory.
#[derive(Debug, Clone)]
pub struct Cni {
    invoker: Invoker,
    cache: ResultCache,
}

/// Which plugin a call runs, for what, and for whom.
struct Call<'a> {
    command: Command,
    network: Option<&'a str>,
    plugin: &'a str,
    rt: Option<&'a RuntimeConf>,
}

impl Call<'_> {
    fn operation(&self) -> Operation {
        Operation {
            command: self.command,
            network: self.network.map(str::to_owned),
            container: self.rt.map(|rt| rt.container_id.clone()),
            plugin: self.plugin.to_owned(),
        }
    }

    fn error(&self, source: InvokeError) -> Error {
        Error::Plugin {
            op: Box::new(self.operation()),
            source,
        }
    }
}

impl Cni {
    /// Long enough for a bridge plugin on a loaded host (it waits for the link and runs
    /// iptables several times), short enough that a hung plugin does not hold a container.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// A client running plugins from `plugin_dirs` (first match wins) and caching results
    /// under `cache_dir/results`.
    pub fn new(plugin_dirs: Vec<PathBuf>, cache_dir: &Path) -> Self {
        Self {
            invoker: Invoker {
                dirs: plugin_dirs,
                timeout: Self::DEFAULT_TIMEOUT,
            },
            cache: ResultCache::new(cache_dir),
        }
    }

    /// How long one plugin may run before it (and what it started) is killed.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.invoker.timeout = timeout;
        self
    }

    /// Attaches: runs ADD through the list, each plugin getting the previous one's result,
    /// and caches the final result. When a plugin fails, the whole list is DELeted again (as
    /// the spec advises), so a failed ADD leaves nothing behind.
    ///
    /// The attachment is in the cache from before the first plugin runs, with the result of
    /// the plugins that ran so far: a caller killed in the middle (and its plugin with it)
    /// leaves an entry whose DEL by [`Self::gc`] undoes what the plugins did, `prevResult`
    /// and capability args included (`firewall` needs the addresses, `portmap` the ports).
    /// Only the final write is fsynced: a host crash removes veths, namespaces and rules by
    /// itself; an IPAM reservation that outlives it without a synced entry is for the caller
    /// to sweep from the IPAM plugin's own store (berthd does).
    pub fn add(&self, list: &NetworkConfigList, rt: &RuntimeConf) -> Result<CniResult, Error> {
        list.validate()?;
        rt.validate(Command::Add)?;
        self.cache
            .write(&CachedAttachment::new(&list.name, rt, None))?;
        let mut prev = None;
        self.add_chain(list, rt, &mut prev)
            .map_err(|add| self.undo_add(list, rt, prev, add))
    }

    /// ADD of each plugin in order; `prev` keeps the last result for the undo.
    fn add_chain(
        &self,
        list: &NetworkConfigList,
        rt: &RuntimeConf,
        prev: &mut Option<Value>,
    ) -> Result<CniResult, Error> {
        let mut last = None;
        for plugin in &list.plugins {
            let call = attachment_call(Command::Add, list, plugin, rt);
            let stdout = self.run_plugin(&call, list, plugin, prev.as_ref())?;
            let (value, result) = parse_result(&call, &stdout, list.version())?;
            *prev = Some(value);
            self.cache
                .write(&CachedAttachment::new(&list.name, rt, prev.clone()))?;
            last = Some(result);
        }
        // None only for a list without plugins, which validate() refuses.
        last.ok_or_else(|| Problem::NoPlugins(list.name.clone()).into())
    }

    /// Detaches: runs DEL through the list in reverse order with the cached result, then
    /// drops the cache entry. Deleting what is already gone succeeds (plugins must allow it).
    pub fn del(&self, list: &NetworkConfigList, rt: &RuntimeConf) -> Result<(), Error> {
        list.validate()?;
        rt.validate(Command::Del)?;
        // An unreadable entry must not block the clean-up: plugins take DEL without a
        // prevResult, and the entry is removed afterwards anyway.
        let cached = self
            .cache
            .read(&list.name, &rt.container_id, &rt.ifname)
            .ok()
            .flatten()
            .and_then(|entry| entry.raw_result().cloned())
            .and_then(|value| convert(value, list.version()).ok());
        self.del_chain(list, rt, cached.as_ref(), false)
    }

    /// Verifies an attachment is as ADD left it. Skipped when the list sets `disableCheck`.
    pub fn check(&self, list: &NetworkConfigList, rt: &RuntimeConf) -> Result<(), Error> {
        list.validate()?;
        rt.validate(Command::Check)?;
        let version = list.version();
        if version < Version::V0_4_0 {
            return Err(Error::CommandUnsupported {
                command: Command::Check,
                network: list.name.clone(),
                version,
                needs: Version::V0_4_0,
            });
        }
        if list.disable_check {
            return Ok(());
        }
        let not_cached = || Error::NotCached {
            network: list.name.clone(),
            container: rt.container_id.clone(),
        };
        let entry = self
            .cache
            .read(&list.name, &rt.container_id, &rt.ifname)?
            .ok_or_else(not_cached)?;
        let value = entry.raw_result().cloned().ok_or_else(not_cached)?;
        let prev = convert(value, version)
            .map_err(|source| cached_result_error(list, &self.cache, rt, source))?;
        for plugin in &list.plugins {
            let call = attachment_call(Command::Check, list, plugin, rt);
            self.run_plugin(&call, list, plugin, Some(&prev))?;
        }
        Ok(())
    }

    /// Asks every plugin whether it can serve ADD now (1.1). Lists of older versions have no
    /// STATUS; they are taken as ready, as libcni does.
    pub fn status(&self, list: &NetworkConfigList) -> Result<(), Error> {
        list.validate()?;
        if list.version() < Version::V1_1_0 {
            return Ok(());
        }
        for plugin in &list.plugins {
            let call = plugin_call(Command::Status, list, plugin);
            let stdin = plugin.stdin(&list.name, list.version(), Map::new());
            self.exec(&call, stdin)?;
        }
        Ok(())
    }

    /// Removes every attachment of this network that is not in `valid`: a DEL for each cached
    /// attachment missing from it (which works with plugins of any version), then, for 1.1
    /// lists, the GC command to each plugin that speaks 1.1 so it can drop leaks the cache
    /// does not know of. Failures do not stop the sweep; they are all reported.
    pub fn gc(&self, list: &NetworkConfigList, valid: &[GcAttachment]) -> Result<(), Error> {
        list.validate()?;
        if list.disable_gc {
            return Ok(());
        }
        let keep: HashSet<&GcAttachment> = valid.iter().collect();
        let mut errors = Vec::new();
        for cached in self.cache.list()? {
            let key = GcAttachment {
                container_id: cached.container_id.clone(),
                ifname: cached.ifname.clone(),
            };
            if cached.network != list.name || keep.contains(&key) {
                continue;
            }
            if let Err(e) = self.del(list, &cached.runtime_conf()) {
                errors.push(e);
            }
        }
        let version = list.version();
        if version >= Version::V1_1_0 {
            let mut inject = Map::new();
            inject.insert("cni.dev/valid-attachments".into(), serde_json::json!(valid));
            for plugin in &list.plugins {
                // A plugin before 1.1 would take GC for ADD's missing arguments and fail.
                match self.query_version(Some(list), &plugin.plugin_type) {
                    Ok(info) if !info.supports(version) => continue,
                    Ok(_) => {}
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                }
                let call = plugin_call(Command::Gc, list, plugin);
                let stdin = plugin.stdin(&list.name, version, inject.clone());
                if let Err(e) = self.exec(&call, stdin) {
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Gc {
                network: list.name.clone(),
                errors,
            })
        }
    }

    /// The versions a plugin speaks (the VERSION command).
    pub fn version(&self, plugin_type: &str) -> Result<VersionInfo, Error> {
        self.query_version(None, plugin_type)
    }

    /// Checks a list before use: valid, every plugin installed and speaking its version.
    /// What `docker network create` should run before accepting a network.
    pub fn validate(&self, list: &NetworkConfigList) -> Result<(), Error> {
        list.validate()?;
        let version = list.version();
        for plugin in &list.plugins {
            let info = self.query_version(Some(list), &plugin.plugin_type)?;
            if !info.supports(version) {
                return Err(Error::VersionUnsupported {
                    op: Box::new(plugin_call(Command::Version, list, plugin).operation()),
                    version,
                });
            }
        }
        Ok(())
    }

    /// The result cached by the last ADD of this attachment, if any.
    pub fn cached_result(
        &self,
        list: &NetworkConfigList,
        rt: &RuntimeConf,
    ) -> Result<Option<CniResult>, Error> {
        list.validate()?;
        // DEL's rules: the namespace may be gone by now.
        rt.validate(Command::Del)?;
        let Some(entry) = self.cache.read(&list.name, &rt.container_id, &rt.ifname)? else {
            return Ok(None);
        };
        entry
            .result()
            .map_err(|source| cached_result_error(list, &self.cache, rt, source))
    }

    /// Every cached attachment, of every network: what berthd compares with its containers
    /// at start-up (a DEL for those it no longer has, or a `gc` per network).
    pub fn cached_attachments(&self) -> Result<Vec<CachedAttachment>, Error> {
        self.cache.list()
    }

    /// DELs the list in reverse order with `prev` (when the version passes one on DEL), then
    /// forgets the attachment. An `undo` passes over plugins that cannot have acted on the
    /// failed ADD: one that is not installed, or that refuses the list's version.
    fn del_chain(
        &self,
        list: &NetworkConfigList,
        rt: &RuntimeConf,
        prev: Option<&Value>,
        undo: bool,
    ) -> Result<(), Error> {
        let prev = prev.filter(|_| list.version() >= Version::V0_4_0);
        for plugin in list.plugins.iter().rev() {
            let call = attachment_call(Command::Del, list, plugin, rt);
            match self.run_plugin(&call, list, plugin, prev) {
                Err(e) if !(undo && e.refused_before_acting()) => return Err(e),
                _ => {}
            }
        }
        self.cache.remove(&list.name, &rt.container_id, &rt.ifname)
    }

    /// After a failed ADD: DEL every plugin with what was added so far. When that fails as
    /// well, the attachment is cached so a later GC retries.
    fn undo_add(
        &self,
        list: &NetworkConfigList,
        rt: &RuntimeConf,
        partial: Option<Value>,
        add: Error,
    ) -> Error {
        match self.del_chain(list, rt, partial.as_ref(), true) {
            Ok(()) => add,
            Err(del) => {
                // Best effort: the error returned already says the attachment may remain.
                let _ = self
                    .cache
                    .write(&CachedAttachment::new(&list.name, rt, partial));
                Error::RollbackFailed {
                    add: Box::new(add),
                    del: Box::new(del),
                }
            }
        }
    }

    /// Runs ADD, DEL or CHECK of one plugin with its `runtimeConfig` and `prevResult`.
    fn run_plugin(
        &self,
        call: &Call<'_>,
        list: &NetworkConfigList,
        plugin: &PluginConfig,
        prev: Option<&Value>,
    ) -> Result<Vec<u8>, Error> {
        let mut inject = Map::new();
        if let Some(rt) = call.rt {
            let runtime_config = rt.capability_args.runtime_config(&plugin.capabilities);
            if !runtime_config.is_empty() {
                inject.insert("runtimeConfig".into(), Value::Object(runtime_config));
            }
        }
        if let Some(prev) = prev {
            inject.insert("prevResult".into(), prev.clone());
        }
        self.exec(call, plugin.stdin(&list.name, list.version(), inject))
    }

    fn query_version(
        &self,
        list: Option<&NetworkConfigList>,
        plugin_type: &str,
    ) -> Result<VersionInfo, Error> {
        let call = Call {
            command: Command::Version,
            network: list.map(|l| l.name.as_str()),
            plugin: plugin_type,
            rt: None,
        };
        let version = list.map_or(Version::V1_1_0, NetworkConfigList::version);
        let stdin = serde_json::json!({ "cniVersion": version }).to_string();
        let stdout = self.exec(&call, stdin.into_bytes())?;
        serde_json::from_slice(&stdout).map_err(|e| {
            call.error(InvokeError::Output {
                source: ResultError::Malformed(e),
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
            })
        })
    }

    fn exec(&self, call: &Call<'_>, stdin: Vec<u8>) -> Result<Vec<u8>, Error> {
        let path = self.invoker.find(call.plugin).map_err(|e| call.error(e))?;
        let env = call.rt.map(RuntimeConf::env);
        self.invoker
            .exec(&path, call.command, env.as_ref(), stdin)
            .map_err(|e| call.error(e))
    }
}

fn attachment_call<'a>(
    command: Command,
    list: &'a NetworkConfigList,
    plugin: &'a PluginConfig,
    rt: &'a RuntimeConf,
) -> Call<'a> {
    Call {
        command,
        network: Some(&list.name),
        plugin: &plugin.plugin_type,
        rt: Some(rt),
    }
}

fn plugin_call<'a>(
    command: Command,
    list: &'a NetworkConfigList,
    plugin: &'a PluginConfig,
) -> Call<'a> {
    Call {
        command,
        network: Some(&list.name),
        plugin: &plugin.plugin_type,
        rt: None,
    }
}

/// A plugin's ADD output, checked and brought into the list's version for the next plugin.
fn parse_result(
    call: &Call<'_>,
    stdout: &[u8],
    version: Version,
) -> Result<(Value, CniResult), Error> {
    let output_error = |source| {
        call.error(InvokeError::Output {
            source,
            stdout: String::from_utf8_lossy(stdout).into_owned(),
        })
    };
    let value: Value = serde_json::from_slice(stdout)
        .map_err(ResultError::Malformed)
        .map_err(output_error)?;
    // Typed parsing also rejects a result the next plugin could not read.
    let result = CniResult::from_value(value.clone(), version).map_err(output_error)?;
    let value = convert(value, version).map_err(output_error)?;
    Ok((
        value,
        CniResult {
            cni_version: version,
            ..result
        },
    ))
}

fn cached_result_error(
    list: &NetworkConfigList,
    cache: &ResultCache,
    rt: &RuntimeConf,
    source: ResultError,
) -> Error {
    Error::CachedResult {
        network: list.name.clone(),
        path: cache.path(&list.name, &rt.container_id, &rt.ifname),
        source,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
