//! `berth`: the Docker-like command line of Berth. It talks to berthd through the Docker
//! Engine API (the `bollard` client over a unix socket) and only formats what the API returns;
//! `pod` and `ps --namespace k8s.io` use the CRI (gRPC on berthd's CRI socket) instead.
//!
//! Layout: clap definitions in [`cli`], one file per command group in [`commands`], shared
//! table/JSON/humanizing helpers in [`output`], progress bars in [`progress`], terminal handling
//! (raw mode, resize, detach keys, signal proxy) in [`tty`] and [`stream`].

mod auth;
mod cli;
mod client;
mod commands;
mod cri;
mod output;
mod progress;
mod stream;
mod tty;

use clap::Parser;

use crate::client::Exit;

fn main() {
    tty::install_panic_hook();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version go to stdout with status 0; usage errors exit 125, as docker.
            let code = if e.use_stderr() { 125 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: cannot start the async runtime: {e}");
            std::process::exit(125);
        }
    };
    let result = runtime.block_on(commands::dispatch(cli));
    tty::restore_terminal();
    let code = match result {
        Ok(()) => 0,
        Err(e) => report(&e),
    };
    // A blocked stdin reader thread must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(10));
    std::process::exit(code);
}

/// Prints an error as docker does and returns the exit status it implies.
fn report(e: &anyhow::Error) -> i32 {
    if let Some(exit) = e.downcast_ref::<Exit>() {
        if let Some(msg) = &exit.message {
            eprintln!("{msg}");
        }
        return exit.code;
    }
    eprintln!("{}", client::describe(e));
    1
}
