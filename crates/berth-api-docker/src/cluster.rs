//! Swarm and managed plugins: berthd is never a swarm node and runs no managed plugins, and it
//! answers their endpoints as dockerd does in that state. Clients depend on the exact answers:
//! 503 with dockerd's text for the swarm endpoints (harnesses count a forced leave's 503 as
//! success), an empty list and 404 `plugin "<name>" not found` for plugins.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use berth_engine::Engine;
use serde_json::json;

use crate::error::message;

const NOT_A_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \
     \"docker swarm join\" to connect this node to swarm and try again.";
const NOT_IN_A_SWARM: &str = "This node is not part of a swarm";

/// The swarm and plugin routes.
pub fn routes() -> Router<Engine> {
    let mut r = Router::new()
        .route("/swarm", any(not_a_manager))
        .route("/swarm/leave", post(leave))
        .route("/swarm/update", post(not_a_manager))
        .route("/swarm/unlock", post(not_a_manager))
        .route("/swarm/unlockkey", get(not_a_manager));
    for kind in ["nodes", "services", "tasks", "secrets", "configs"] {
        r = r
            .route(&format!("/{kind}"), any(not_a_manager))
            .route(&format!("/{kind}/{{*rest}}"), any(not_a_manager));
    }
    r.route("/plugins", get(no_plugins))
        .route("/plugins/privileges", get(no_privileges))
        .route("/plugins/create", post(create_plugin))
        .route("/plugins/pull", post(pull_plugin))
        .route("/plugins/{*rest}", any(plugin))
}

async fn not_a_manager() -> Response {
    message(StatusCode::SERVICE_UNAVAILABLE, NOT_A_MANAGER).into_response()
}

async fn leave() -> Response {
    message(StatusCode::SERVICE_UNAVAILABLE, NOT_IN_A_SWARM).into_response()
}

async fn no_plugins() -> Json<serde_json::Value> {
    Json(json!([]))
}

/// A plugin asks for no privileges when there is no plugin to install.
async fn no_privileges() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "berthd runs no managed plugins: there is nothing to install",
    )
    .into_response()
}

/// `POST /plugins/create?name=`: the name is checked as dockerd checks it; the plugin itself
/// cannot be made, as berthd has no plugin runtime.
async fn create_plugin(
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    _tar: Bytes,
) -> Response {
    let name = q.get("name").map(String::as_str).unwrap_or_default();
    if name.is_empty() {
        return message(
            StatusCode::BAD_REQUEST,
            "failed to parse reference : repository name must have at least one component",
        )
        .into_response();
    }
    message(
        StatusCode::BAD_REQUEST,
        format!("cannot create plugin {name}: berthd runs no managed plugins"),
    )
    .into_response()
}

async fn pull_plugin() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "cannot pull a plugin: berthd runs no managed plugins",
    )
    .into_response()
}

/// `GET /plugins/{name}/json`, `DELETE /plugins/{name}`, `POST /plugins/{name}/{enable,
/// disable,push,upgrade,set}`: names hold `/` (`vieux/sshfs:latest`), so the action is the
/// last segment, and every name is unknown.
async fn plugin(method: Method, uri: Uri, Path(rest): Path<String>) -> Response {
    let (name, action) = match rest.rsplit_once('/') {
        Some((name, action)) => (name, Some(action)),
        None => (rest.as_str(), None),
    };
    let known = match (&method, action) {
        (&Method::DELETE, _) => Some(rest.as_str()),
        (&Method::GET, Some("json")) => Some(name),
        (&Method::POST, Some("enable" | "disable" | "push" | "upgrade" | "set")) => Some(name),
        _ => None,
    };
    match known {
        Some(name) => {
            message(StatusCode::NOT_FOUND, format!("plugin {name:?} not found")).into_response()
        }
        None => crate::error::not_implemented(method, uri).await,
    }
}
