/// The category of a failure, shared by every layer so each API edge maps it once
/// (containerd's errdefs): the Docker API turns it into an HTTP status, the CRI into a gRPC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    InvalidArgument,
    /// The object exists but is in a state that forbids the operation (in use, running, ...).
    Conflict,
    Unavailable,
    /// Credentials missing or refused (a registry's 401).
    Unauthorized,
    /// Known credentials (or none) that are not allowed to do this (a registry's 403).
    Forbidden,
    NotImplemented,
    Internal,
}
