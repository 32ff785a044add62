//! An engine image as a CRI `Image`.

use berth_engine::images::ImageDetails;
use berth_types::Reference;

use crate::proto::{Image, ImageSpec, Int64Value};

pub(super) fn to_cri(details: &ImageDetails) -> Image {
    let summary = &details.summary;
    let id = summary.id.to_string();
    let (uid, username) = user_of(details.user());
    Image {
        repo_tags: summary.repo_tags.iter().map(|t| qualified(t)).collect(),
        repo_digests: summary.repo_digests.iter().map(|d| qualified(d)).collect(),
        size: summary.size,
        uid,
        username,
        spec: Some(ImageSpec {
            image: id.clone(),
            ..Default::default()
        }),
        pinned: false,
        id,
    }
}

/// The engine keeps Docker's short names (`busybox:latest`); CRI clients (the kubelet
/// compares them with what it pulled) use the full ones (`docker.io/library/busybox:latest`).
fn qualified(name: &str) -> String {
    name.parse::<Reference>()
        .map_or_else(|_| name.to_string(), |r| r.to_string())
}

/// The config's `User` as the CRI has it: a numeric user is `uid`, a name is `username`; a
/// group after `:` is not part of either (containerd's reading).
fn user_of(user: Option<&str>) -> (Option<Int64Value>, String) {
    let Some(user) = user.and_then(|u| u.split(':').next()) else {
        return (None, String::new());
    };
    match user.parse::<i64>() {
        Ok(value) => (Some(Int64Value { value }), String::new()),
        Err(_) => (None, user.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_forms() {
        assert_eq!(user_of(None), (None, String::new()));
        assert_eq!(
            user_of(Some("1000")),
            (Some(Int64Value { value: 1000 }), String::new())
        );
        assert_eq!(
            user_of(Some("1000:50")),
            (Some(Int64Value { value: 1000 }), String::new())
        );
        assert_eq!(user_of(Some("nobody")), (None, "nobody".to_string()));
        assert_eq!(user_of(Some("www:www")), (None, "www".to_string()));
    }

    #[test]
    fn names_are_fully_qualified() {
        assert_eq!(qualified("busybox:test"), "docker.io/library/busybox:test");
        assert_eq!(qualified("127.0.0.1:5000/app:v1"), "127.0.0.1:5000/app:v1");
        let digest = format!("busybox@sha256:{}", "a".repeat(64));
        assert_eq!(
            qualified(&digest),
            format!("docker.io/library/busybox@sha256:{}", "a".repeat(64))
        );
    }
}
