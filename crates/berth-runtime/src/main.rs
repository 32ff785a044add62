//! berth-runtime: a runc-compatible OCI runtime. Argument parsing lives in `cli`, one file per
//! verb in `commands/`; the work itself is in the `berth-oci` library.

// unwrap_used is denied workspace-wide; expect() panics just the same on bad input.
#![cfg_attr(not(test), deny(clippy::expect_used))]

mod cli;
mod commands;
mod log;
mod sealed_exe;

use clap::Parser;

fn main() {
    // Die quietly on a closed pipe (`berth-runtime state x | head`) like other CLI tools.
    // SAFETY: restores the default disposition; no handler runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = cli::Cli::parse();
    if cli.command.starts_container_process() {
        if let Err(e) = sealed_exe::ensure(&cli.root) {
            log::Logger::new(cli.log.as_deref(), cli.log_format).error(&format!("{e:#}"));
            std::process::exit(1);
        }
    }
    // Nothing the caller left open (beyond --preserve-fds) may reach a container (CVE-2024-21626).
    // SAFETY: closes fds this process never uses; stdio and preserved fds stay.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 + cli.command.preserve_fds(),
            u32::MAX,
            0,
        )
    };
    let logger = log::Logger::new(cli.log.as_deref(), cli.log_format);
    // Only with --debug: without a subscriber the library's events cost a level check each.
    if cli.debug {
        match log::DebugLog::new(cli.log.as_deref(), cli.log_format) {
            Ok(debug) => {
                let _ = tracing::subscriber::set_global_default(debug);
                // Not the arguments: exec's --env may carry secrets.
                tracing::debug!("berth-runtime {} starting", env!("CARGO_PKG_VERSION"));
            }
            Err(e) => logger.error(&format!("--debug: cannot open the log: {e}")),
        }
    }
    let code = match commands::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&format!("{e:#}"));
            1
        }
    };
    std::process::exit(code);
}
