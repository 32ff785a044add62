#![recursion_limit = "256"]
//! The Docker Engine API, served over the Berth engine. Handlers only translate: parse the
//! request, call one [`Engine`] method, shape Docker's JSON. One module per resource; errors are
//! mapped to status codes once, in [`error`].

mod archive;
mod body;
mod build;
mod cluster;
mod container_fs;
mod container_ops;
mod containers;
mod distribution;
mod error;
mod exec;
mod filters;
mod images;
mod json;
mod networks;
mod prune;
mod stream;
mod system;
mod version;
mod volumes;

use axum::routing::{get, post};
use axum::Router;
use berth_engine::Engine;

pub use version::{API_VERSION, MIN_API_VERSION};

/// The whole API: version prefixes (`/v1.44/...`) are checked and stripped before routing,
/// unknown endpoints answer 501.
pub fn app(engine: Engine) -> Router {
    let versioned = tower::Layer::layer(
        &axum::middleware::from_fn(version::strip_prefix),
        router(engine),
    );
    Router::new().fallback_service(versioned)
}

/// The routes, without version handling (tests call them directly).
pub fn router(engine: Engine) -> Router {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(system::events))
        .route("/images/json", get(images::list))
        .route(
            "/images/{*name}",
            get(images::get_named)
                .delete(images::remove)
                .post(images::post_named),
        )
        .route("/images/create", post(images::create))
        .route("/auth", post(distribution::auth))
        .route("/distribution/{*path}", get(distribution::distribution))
        .route("/containers/json", get(containers::list))
        .route("/containers/create", post(containers::create))
        .route("/containers/{id}/json", get(containers::inspect))
        .route(
            "/containers/{id}",
            axum::routing::delete(containers::remove),
        )
        .route(
            "/containers/{id}/{alias}",
            axum::routing::delete(containers::remove_link),
        )
        .route("/containers/{id}/start", post(containers::start))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/restart", post(containers::restart))
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/pause", post(containers::pause))
        .route("/containers/{id}/unpause", post(containers::unpause))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/attach", post(containers::attach))
        .route("/containers/{id}/resize", post(containers::resize))
        .route("/images/get", get(archive::save_many))
        .route("/images/load", post(archive::load))
        .route("/images/prune", post(prune::images))
        .route("/containers/prune", post(prune::containers))
        .route("/system/df", get(prune::disk_usage))
        .route("/build", post(build::build))
        .route("/build/prune", post(prune::build_cache))
        .route("/containers/{id}/export", get(container_fs::export))
        .route("/containers/{id}/changes", get(container_fs::changes))
        .route(
            "/containers/{id}/archive",
            get(container_fs::archive_get)
                .head(container_fs::archive_head)
                .put(container_fs::archive_put),
        )
        .route("/commit", post(container_fs::commit))
        .route("/containers/{id}/top", get(container_ops::top))
        .route("/containers/{id}/stats", get(container_ops::stats))
        .route("/containers/{id}/rename", post(container_ops::rename))
        .route("/containers/{id}/update", post(container_ops::update))
        .route("/containers/{id}/exec", post(exec::create))
        .route("/exec/{id}/start", post(exec::start))
        .route("/exec/{id}/resize", post(exec::resize))
        .route("/exec/{id}/json", get(exec::inspect))
        .route("/networks", get(networks::list))
        .route("/networks/create", post(networks::create))
        .route("/networks/prune", post(networks::prune))
        .route(
            "/networks/{id}",
            get(networks::inspect).delete(networks::remove),
        )
        .route("/networks/{id}/connect", post(networks::connect))
        .route("/networks/{id}/disconnect", post(networks::disconnect))
        .route("/volumes", get(volumes::list))
        .route("/volumes/create", post(volumes::create))
        .route("/volumes/prune", post(volumes::prune))
        .route(
            "/volumes/{name}",
            get(volumes::inspect).delete(volumes::remove),
        )
        .merge(cluster::routes())
        .fallback(error::not_implemented)
        .with_state(engine)
}
