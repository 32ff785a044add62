//! The streaming requests waiting for their clients, by token: single use, a minute to live,
//! at most a thousand at once (the kubelet's streaming cache: `ttl`, `maxInFlight`).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Pending;

const TTL: Duration = Duration::from_secs(60);
const MAX_IN_FLIGHT: usize = 1000;
/// The token's random bytes: it is the only credential a streaming URL carries.
const TOKEN_BYTES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("too many streaming requests waiting for their clients (at most {MAX_IN_FLIGHT})")]
    TooMany,
    #[error("streaming token: read /dev/urandom: {0}")]
    Random(#[source] std::io::Error),
}

#[derive(Default)]
pub(super) struct Tokens {
    map: Mutex<HashMap<String, (Instant, Pending)>>,
}

impl Tokens {
    pub(super) fn insert(&self, pending: Pending) -> Result<String, TokenError> {
        let token = random_token()?;
        self.insert_at(token.clone(), pending, Instant::now())?;
        Ok(token)
    }

    fn insert_at(&self, token: String, pending: Pending, now: Instant) -> Result<(), TokenError> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (made, _)| now.duration_since(*made) < TTL);
        if map.len() >= MAX_IN_FLIGHT {
            return Err(TokenError::TooMany);
        }
        map.insert(token, (now, pending));
        Ok(())
    }

    /// The request of `token`, which is spent; `None` when unknown, spent or expired.
    pub(super) fn take(&self, token: &str) -> Option<Pending> {
        self.take_at(token, Instant::now())
    }

    fn take_at(&self, token: &str, now: Instant) -> Option<Pending> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let (made, pending) = map.remove(token)?;
        (now.duration_since(made) < TTL).then_some(pending)
    }
}

fn random_token() -> Result<String, TokenError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(TokenError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forward(pod: &str) -> Pending {
        Pending::PortForward { pod_id: pod.into() }
    }

    #[test]
    fn a_token_is_spent_by_its_first_use() {
        let tokens = Tokens::default();
        let token = tokens.insert(forward("p")).expect("insert");
        assert_eq!(token.len(), 2 * TOKEN_BYTES);
        assert_eq!(tokens.take(&token), Some(forward("p")));
        assert_eq!(tokens.take(&token), None);
        assert_eq!(tokens.take("not-a-token"), None);
        assert_ne!(
            tokens.insert(forward("a")).expect("a"),
            tokens.insert(forward("b")).expect("b")
        );
    }

    #[test]
    fn tokens_expire_after_a_minute_and_make_room() {
        let tokens = Tokens::default();
        let then = Instant::now();
        tokens
            .insert_at("old".into(), forward("p"), then)
            .expect("insert");
        assert_eq!(
            tokens.take_at("old", then + TTL - Duration::from_secs(1)),
            Some(forward("p"))
        );
        tokens
            .insert_at("old".into(), forward("p"), then)
            .expect("insert");
        assert_eq!(tokens.take_at("old", then + TTL), None);
        for i in 0..MAX_IN_FLIGHT {
            tokens
                .insert_at(i.to_string(), forward("p"), then)
                .expect("room");
        }
        assert!(matches!(
            tokens.insert_at("full".into(), forward("p"), then),
            Err(TokenError::TooMany)
        ));
        // The expired ones go when a new one comes.
        tokens
            .insert_at("new".into(), forward("p"), then + TTL)
            .expect("room again");
    }
}
