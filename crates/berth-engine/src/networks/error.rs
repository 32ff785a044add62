use berth_types::ErrorKind;

/// What a network operation can fail with; each names the network (and container) involved.
/// Messages follow dockerd's where clients or scripts look for them.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0} not found")]
    NotFound(String),
    /// At container create: a 400, since clients take a 404 there for a missing image.
    #[error("container {container}: network {network} not found")]
    UnknownForContainer { container: String, network: String },
    #[error("network name {0:?} matches more than one network; use the id")]
    Ambiguous(String),
    #[error("network with name {0} already exists")]
    NameTaken(String),
    #[error("invalid name: {0}")]
    InvalidName(String),
    #[error("{0} is a pre-defined network and cannot be {1}")]
    Predefined(String, &'static str),
    #[error("plugin {0:?} not found: berthd has the bridge network driver only")]
    UnknownDriver(String),
    #[error("network {network}: invalid {what} {value:?}: {reason}")]
    BadAddress {
        network: String,
        what: &'static str,
        value: String,
        reason: String,
    },
    /// dockerd's `ValidateIPAM` wording.
    #[error("invalid network config:\ninvalid auxiliary address {key}: {reason}")]
    BadAuxAddress {
        network: String,
        key: String,
        reason: String,
    },
    #[error("invalid pool request: pool {subnet} of network {network} overlaps with {other} of network {other_network}")]
    Overlap {
        network: String,
        subnet: String,
        other: String,
        other_network: String,
    },
    #[error("network {0}: no free subnet left in the default address pools")]
    PoolsExhausted(String),
    #[error("network {0}: --ipv6 needs an IPv6 subnet: none was given and the IPv6 address pools have no free subnet left")]
    Ipv6NeedsSubnet(String),
    #[error("network {network}: invalid option {option}={value}")]
    BadOption {
        network: String,
        option: String,
        value: String,
    },
    #[error("error while removing network: network {network} id {id} has active endpoints ({})", .containers.join(", "))]
    InUse {
        network: String,
        id: String,
        containers: Vec<String>,
    },
    #[error("container {container}: user specified IP address is supported on user defined networks only (not on {network})")]
    IpOnDefaultNetwork { container: String, network: String },
    #[error("container {container}: invalid address {address:?} for network {network}: {reason}")]
    BadEndpointAddress {
        container: String,
        network: String,
        address: String,
        reason: String,
    },
    #[error("container {container}: conflicting options: {reason}")]
    Conflicting { container: String, reason: String },
    #[error("container {container}: invalid port specification {spec:?}: {reason}")]
    BadPort {
        container: String,
        spec: String,
        reason: String,
    },
    #[error("container {container}: Bind for {host_ip}:{port} failed: port is already allocated")]
    PortInUse {
        container: String,
        host_ip: String,
        port: u16,
    },
    #[error("container {container}: no free host port for {spec}")]
    NoFreePort { container: String, spec: String },
    #[error("container {container} is already connected to network {network}")]
    AlreadyConnected { container: String, network: String },
    #[error("container {container} is not connected to network {network}")]
    NotConnected { container: String, network: String },
    #[error("container {container}: network mode {mode} cannot be connected to other networks")]
    CannotConnect { container: String, mode: String },
    #[error("invalid link {spec:?}: {reason}")]
    BadLink { spec: String, reason: String },
    /// At create, a 400 as dockerd's: a 404 would make the client look for a missing image.
    #[error("could not get container for {name}: No such container: {name}")]
    LinkTargetMissing { name: String },
    #[error("Cannot link to a non running container: /{target} AS {link}")]
    LinkTargetNotRunning { target: String, link: String },
    #[error("Cannot link to /{target}, as it does not belong to the default network")]
    LinkTargetElsewhere { target: String },
    #[error("conflicting options: {mode} type networking can't be used with links. This would result in undefined behavior")]
    LinkWithNetworkMode { mode: &'static str },
    #[error("container {container}: connect to network {network}: {source}")]
    Cni {
        container: String,
        network: String,
        /// Boxed: it is large, and most network errors are not CNI errors.
        source: Box<berth_cni::Error>,
    },
    #[error("container {container}: network namespace {path}: {source}")]
    Netns {
        container: String,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("network {network}: {action}: {message}")]
    Host {
        network: String,
        action: String,
        message: String,
    },
    #[error("network {network}: corrupt record: {source}")]
    Corrupt {
        network: String,
        source: serde_json::Error,
    },
    #[error("network {network}: invalid CNI configuration: {source}")]
    Config {
        network: String,
        source: berth_cni::ConfigError,
    },
}

impl NetworkError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::NameTaken(_) => ErrorKind::AlreadyExists,
            Self::Ambiguous(_)
            | Self::InUse { .. }
            | Self::PortInUse { .. }
            | Self::AlreadyConnected { .. }
            | Self::LinkTargetNotRunning { .. }
            | Self::LinkTargetElsewhere { .. }
            | Self::Overlap { .. } => ErrorKind::Conflict,
            Self::UnknownDriver(_) => ErrorKind::NotFound,
            Self::InvalidName(_)
            | Self::Predefined(..)
            | Self::BadAddress { .. }
            | Self::BadAuxAddress { .. }
            | Self::PoolsExhausted(_)
            | Self::Ipv6NeedsSubnet(_)
            | Self::BadOption { .. }
            | Self::IpOnDefaultNetwork { .. }
            | Self::BadEndpointAddress { .. }
            | Self::Conflicting { .. }
            | Self::UnknownForContainer { .. }
            | Self::BadPort { .. }
            | Self::NoFreePort { .. }
            | Self::NotConnected { .. }
            | Self::CannotConnect { .. }
            | Self::BadLink { .. }
            | Self::LinkTargetMissing { .. }
            | Self::LinkWithNetworkMode { .. } => ErrorKind::InvalidArgument,
            Self::Cni { source, .. } => source.kind(),
            Self::Netns { .. } | Self::Host { .. } | Self::Corrupt { .. } | Self::Config { .. } => {
                ErrorKind::Internal
            }
        }
    }
}
