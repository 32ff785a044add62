//! berthd: opens the engine and serves the Docker Engine API and the Kubernetes CRI on unix
//! sockets, and the CRI's streaming server (exec, attach, port-forward) on a TCP port. Flags
//! are named as dockerd's so scripts and habits carry over; a TOML file (docs/berthd.md) sets
//! the same.
//! Stopping berthd leaves containers running: their shims keep them, and the next berthd
//! re-attaches (live restore).

mod config;
mod listen;

use anyhow::{Context, Result};
use clap::Parser;

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berthd: start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(serve());
    // Blocking threads wait on shims for the exits of containers and pause processes, which
    // outlive berthd: dropping the runtime would wait for them forever. Work under way gets a
    // moment to finish.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The message and its causes on one line; a backtrace only when RUST_BACKTRACE or
            // RUST_LIB_BACKTRACE asked anyhow to capture one (a start-up error is no crash).
            eprintln!("berthd: {e:#}");
            if e.backtrace().status() == std::backtrace::BacktraceStatus::Captured {
                eprintln!("Stack backtrace:\n{}", e.backtrace());
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<()> {
    let args = config::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(args.log_level.as_str())
                .context("bad --log-level")?,
        )
        .with_writer(std::io::stderr)
        .init();
    let settings = config::Settings::load(&args)?;
    let engine = berth_engine::Engine::open(settings.engine.clone())
        .await
        .context("open the engine")?;
    let _pidfile = match &settings.pidfile {
        Some(path) => Some(config::PidFile::create(path)?),
        None => None,
    };
    let mut servers = tokio::task::JoinSet::new();
    // The streaming server only serves the CRI's URLs: none without the CRI.
    let streaming = match (&settings.cri_socket, settings.cri_stream_address) {
        (Some(_), Some(addr)) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("CRI streaming server: listen on {addr}"))?;
            let bound = listener.local_addr().context("CRI streaming server")?;
            tracing::info!(address = %bound, "CRI streaming server listening");
            let server = berth_api_cri::StreamServer::new(engine.clone(), bound);
            let serve = server.clone().serve(listener);
            servers.spawn(async move { serve.await.context("CRI streaming server") });
            Some(server)
        }
        _ => None,
    };
    let cri = berth_api_cri::service(engine.clone(), streaming);
    let app = berth_api_docker::app(engine);
    let mut sockets = listen::Sockets::default();
    for host in &settings.hosts {
        let listener = sockets.bind(host)?;
        tracing::info!(%host, "API listening");
        servers.spawn(listen::serve(listener, app.clone()));
    }
    if let Some(url) = &settings.cri_socket {
        let listener = sockets.bind(url)?;
        tracing::info!(%url, "CRI listening");
        servers.spawn(listen::serve_cri(listener, cri));
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; stopping (containers keep running)"),
        _ = term.recv() => tracing::info!("terminated; stopping (containers keep running)"),
        Some(done) = servers.join_next() => {
            done.context("API server task")?.context("API server")?;
        }
    }
    // `sockets` goes now, and its socket files with it.
    Ok(())
}
