//! berth-runtime: a runc-compatible OCI runtime. Argument parsing lives in `cli`, one file per
//! verb in `commands/`; the work itself is in the `berth-oci` library.

mod cli;
mod commands;
mod log;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let logger = log::Logger::new(cli.log.as_deref(), cli.log_format, cli.debug);
    let code = match commands::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&format!("{e:#}"));
            1
        }
    };
    std::process::exit(code);
}
