//! Command-line definitions, matching runc's verbs and flags so existing callers work unchanged.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "berth-runtime",
    version,
    about = "A runc-compatible OCI container runtime"
)]
pub struct Cli {
    /// Directory for container state
    #[arg(long, global = true, default_value = "/run/berth-runtime")]
    pub root: PathBuf,
    /// Log file (errors are also printed on stderr)
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log the steps of create/start/exec/delete at debug level (to --log, else stderr)
    #[arg(long, global = true)]
    pub debug: bool,
    /// Manage cgroups through systemd (not supported: berth-runtime uses cgroupfs)
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for runc compatibility; ignored
    #[arg(long, global = true, hide = true)]
    pub criu: Option<String>,
    /// Accepted for runc compatibility ("auto", "true", "false"). Before the verb only, as in
    /// runc: a global copy would share its id with `spec --rootless`, a flag of another type.
    #[arg(long, hide = true)]
    pub rootless: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    pub id: String,
    /// Path to the bundle directory
    #[arg(long, short = 'b', default_value = ".")]
    pub bundle: PathBuf,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when process.terminal is true
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Use chroot (MS_MOVE) instead of pivot_root
    #[arg(long)]
    pub no_pivot: bool,
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass this many extra fds (from 3 upward) to the container process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container; its process waits for `start`
    Create(CreateArgs),
    /// Start the process of a created container
    Start { id: String },
    /// Create and start a container
    Run {
        #[command(flatten)]
        create: CreateArgs,
        #[arg(long, short = 'd')]
        detach: bool,
        /// Do not delete the container after it exits
        #[arg(long)]
        keep: bool,
    },
    /// Print the state of a container as JSON
    State { id: String },
    /// Send a signal to the container's init (or all its processes)
    Kill {
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
        #[arg(long, short = 'a')]
        all: bool,
    },
    /// Delete a container and everything it holds
    Delete {
        id: String,
        #[arg(long, short = 'f')]
        force: bool,
    },
    /// Run a new process inside a container
    Exec(ExecArgs),
    /// List the processes of a container
    Ps {
        id: String,
        #[arg(long, short = 'f', value_enum, default_value = "table")]
        format: ListFormat,
        /// Arguments for ps(1)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Freeze all processes of a container
    Pause { id: String },
    /// Thaw a paused container
    Resume { id: String },
    /// List containers
    List {
        #[arg(long, short = 'f', value_enum, default_value = "table")]
        format: ListFormat,
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Write a default config.json
    Spec {
        #[arg(long, short = 'b')]
        bundle: Option<PathBuf>,
        #[arg(long)]
        rootless: bool,
    },
    /// Print the features this runtime supports (runtime-spec features.md)
    Features,
    /// Change the resource limits of a running container
    Update(UpdateArgs),
    /// Show container events and resource statistics
    Events {
        id: String,
        /// Print statistics once and exit
        #[arg(long)]
        stats: bool,
        /// Interval between statistics, e.g. 5s or 500ms
        #[arg(long, default_value = "5s")]
        interval: String,
    },
}

impl Command {
    /// Verbs that fork processes into a container, so must run from a protected binary.
    pub fn starts_container_process(&self) -> bool {
        matches!(
            self,
            Command::Create(_) | Command::Run { .. } | Command::Exec(_)
        )
    }

    /// How many fds from 3 upward the caller passes through to the container.
    pub fn preserve_fds(&self) -> u32 {
        match self {
            Command::Create(a) | Command::Run { create: a, .. } => a.preserve_fds,
            Command::Exec(a) => a.preserve_fds,
            _ => 0,
        }
    }
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    pub id: String,
    /// Command and arguments (unless --process is given)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// JSON file with a runtime-spec `process` object
    #[arg(long, short = 'p')]
    pub process: Option<PathBuf>,
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    #[arg(long = "env", short = 'e')]
    pub env: Vec<String>,
    #[arg(long, short = 't')]
    pub tty: bool,
    /// uid[:gid]
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    #[arg(long = "additional-gids", short = 'g')]
    pub additional_gids: Vec<u32>,
    #[arg(long = "cap", short = 'c')]
    pub caps: Vec<String>,
    #[arg(long, short = 'd')]
    pub detach: bool,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    #[arg(long)]
    pub process_label: Option<String>,
    #[arg(long)]
    pub apparmor: Option<String>,
    #[arg(long)]
    pub no_new_privs: bool,
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    #[arg(long)]
    pub ignore_paused: bool,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    pub id: String,
    /// JSON file with a LinuxResources object ("-" for stdin)
    #[arg(long, short = 'r')]
    pub resources: Option<PathBuf>,
    #[arg(long)]
    pub memory: Option<String>,
    #[arg(long)]
    pub memory_swap: Option<String>,
    #[arg(long)]
    pub memory_reservation: Option<String>,
    #[arg(long)]
    pub cpu_shares: Option<u64>,
    #[arg(long)]
    pub cpu_period: Option<u64>,
    #[arg(long)]
    pub cpu_quota: Option<i64>,
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    #[arg(long)]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    #[arg(long)]
    pub pids_limit: Option<i64>,
    #[arg(long)]
    pub blkio_weight: Option<u16>,
}
