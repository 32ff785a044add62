//! What happens when the container's process exits.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The restart policy. The CRI never sets one (the kubelet restarts), so pod containers are
/// always [`RestartPolicy::No`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartPolicy {
    #[default]
    No,
    Always,
    /// As `Always`, except after a stop by the user, also across daemon restarts.
    UnlessStopped,
    /// Restart after a non-zero exit; `max_retries` `None` is unlimited (Docker's 0).
    OnFailure {
        max_retries: Option<u32>,
    },
}

/// Docker's CLI spelling: `no`, `always`, `unless-stopped`, `on-failure[:max]`.
impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::No => f.write_str("no"),
            Self::Always => f.write_str("always"),
            Self::UnlessStopped => f.write_str("unless-stopped"),
            Self::OnFailure { max_retries: None } => f.write_str("on-failure"),
            Self::OnFailure {
                max_retries: Some(n),
            } => write!(f, "on-failure:{n}"),
        }
    }
}
