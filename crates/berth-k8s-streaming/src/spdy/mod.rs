//! SPDY/3.1, as far as the Kubernetes streaming protocols use it: the frame codec and a
//! server session over any byte stream.

mod dictionary;
pub mod frame;
pub mod session;

pub use frame::{CodecError, Frame, GoAwayStatus, Headers, RstStatus};
pub use session::{
    Session, SessionCloser, SessionConfig, SessionError, Stream, StreamError, StreamReader,
    StreamWriter,
};
