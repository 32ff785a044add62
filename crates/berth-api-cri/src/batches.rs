//! The answer of the Stream* RPCs (cri-api 0.34+): what the matching List RPC returns, in
//! messages of up to [`PER_MESSAGE`] items, each message holding at least one (the proto's
//! rule; nothing at all when there is nothing), so no answer meets gRPC's message limit.

use tonic::Status;

/// Items per message: far below gRPC's 16 MiB default message limit for any of them.
pub(crate) const PER_MESSAGE: usize = 100;

/// The response stream of a Stream* RPC.
pub(crate) type Batches<T> = futures_util::stream::Iter<std::vec::IntoIter<Result<T, Status>>>;

/// `items` in messages that `wrap` makes of each batch.
pub(crate) fn batches<I: Clone, T>(items: &[I], wrap: impl Fn(Vec<I>) -> T) -> Batches<T> {
    let messages: Vec<_> = items
        .chunks(PER_MESSAGE)
        .map(|chunk| Ok(wrap(chunk.to_vec())))
        .collect();
    futures_util::stream::iter(messages)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
