//! `runtime.v1alpha2` beside `runtime.v1`. The two packages' messages are wire-compatible
//! (proto/README.md), so v1alpha2 is not generated: a request to
//! `/runtime.v1alpha2.{RuntimeService,ImageService}/X` is rewritten to the v1 path before
//! routing and marked with [`ApiVersion::V1alpha2`], which the few RPCs whose answer differs
//! read (Version's `runtime_api_version`). As containerd 1.6/1.7 serve both; the kubelet 1.20
//! speaks only v1alpha2.

use std::task::{Context, Poll};

use tonic::codegen::http::{uri::PathAndQuery, Request, Uri};
use tower::{Layer, Service};

/// The CRI version a request came in with (a request extension; v1 when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    #[default]
    V1,
    V1alpha2,
}

impl ApiVersion {
    pub fn of<T>(request: &tonic::Request<T>) -> Self {
        request.extensions().get().copied().unwrap_or_default()
    }

    /// The name CRI clients show (`runtime_api_version`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V1alpha2 => "v1alpha2",
        }
    }
}

const V1ALPHA2: &str = "/runtime.v1alpha2.";
const SERVICES: [&str; 2] = ["RuntimeService/", "ImageService/"];

/// Wraps a service so v1alpha2 paths reach it as v1 paths.
#[derive(Debug, Clone, Copy, Default)]
pub struct V1alpha2Layer;

impl<S> Layer<S> for V1alpha2Layer {
    type Service = V1alpha2<S>;

    fn layer(&self, inner: S) -> V1alpha2<S> {
        V1alpha2 { inner }
    }
}

#[derive(Debug, Clone)]
pub struct V1alpha2<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for V1alpha2<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.inner.call(rewrite(request))
    }
}

/// The v1 form of a v1alpha2 request; any other request unchanged. Only the two CRI services
/// are rewritten, so an unknown service still gets gRPC's Unimplemented.
fn rewrite<B>(mut request: Request<B>) -> Request<B> {
    let Some(rest) = request.uri().path().strip_prefix(V1ALPHA2) else {
        return request;
    };
    if !SERVICES.iter().any(|s| rest.starts_with(s)) {
        return request;
    }
    let path = format!("/runtime.v1.{rest}");
    let mut parts = request.uri().clone().into_parts();
    // A path made of a valid path's characters is valid; should it not be, the request goes on
    // unchanged and is answered Unimplemented.
    let Ok(path) = PathAndQuery::try_from(path) else {
        return request;
    };
    parts.path_and_query = Some(path);
    let Ok(uri) = Uri::from_parts(parts) else {
        return request;
    };
    *request.uri_mut() = uri;
    request.extensions_mut().insert(ApiVersion::V1alpha2);
    request
}

#[cfg(test)]
mod tests;
