//! Container names: Docker's rules for user-given names and its `adjective_surname` generator
//! for the rest.

use crate::{Error, Result};

const ADJECTIVES: [&str; 32] = [
    "admiring",
    "adoring",
    "affectionate",
    "agitated",
    "amazing",
    "angry",
    "awesome",
    "blissful",
    "bold",
    "brave",
    "busy",
    "charming",
    "clever",
    "compassionate",
    "competent",
    "confident",
    "cool",
    "dazzling",
    "determined",
    "eager",
    "ecstatic",
    "elastic",
    "elegant",
    "eloquent",
    "epic",
    "festive",
    "focused",
    "friendly",
    "gallant",
    "gifted",
    "happy",
    "hopeful",
];

const SURNAMES: [&str; 32] = [
    "albattani",
    "allen",
    "almeida",
    "archimedes",
    "ardinghelli",
    "aryabhata",
    "austin",
    "babbage",
    "banach",
    "bardeen",
    "bartik",
    "bassi",
    "bell",
    "bhabha",
    "bohr",
    "booth",
    "borg",
    "bose",
    "brahmagupta",
    "brown",
    "carson",
    "cerf",
    "chandrasekhar",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euclid",
    "fermat",
    "feynman",
    "franklin",
    "galileo",
];

/// A fresh random name; `taken` says whether a candidate is in use.
pub(crate) fn generate(mut taken: impl FnMut(&str) -> bool) -> String {
    for attempt in 0..64 {
        let r = crate::random_hex(2);
        let n = usize::from_str_radix(&r, 16).unwrap_or(attempt);
        let mut name = format!("{}_{}", ADJECTIVES[n % 32], SURNAMES[(n / 32) % 32]);
        if attempt > 3 {
            name.push_str(&(n % 10).to_string());
        }
        if !taken(&name) {
            return name;
        }
    }
    // 64 collisions in a row: fall back to something unique by construction.
    format!("berth_{}", crate::random_hex(6))
}

/// Docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, an optional leading `/` dropped.
pub(crate) fn validate(name: &str) -> Result<String> {
    let n = name.strip_prefix('/').unwrap_or(name);
    let ok = n.len() >= 2
        && n.as_bytes()[0].is_ascii_alphanumeric()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(n.to_string())
    } else {
        Err(Error::InvalidName(name.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
