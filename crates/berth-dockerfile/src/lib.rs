//! The Dockerfile language as BuildKit's frontend and dockerd's classic builder read it:
//! parser directives, line continuations and heredocs (`parser`), typed instructions
//! (`instructions`), shell-style word expansion (`expand`), the stage graph a target needs
//! (`stages`), and `.dockerignore` patterns (`ignore`). Pure: no file system, no processes;
//! the engine's builder executes what this crate describes.
pub mod error;
pub mod expand;
pub mod ignore;
pub mod instructions;
pub mod parser;
pub mod platform;
pub mod stages;

pub use error::{DockerfileError, ErrorKind, MountError};
pub use expand::{Env, Expander, Expansion, Lexer};
pub use instructions::{Instruction, InstructionKind};
pub use parser::{Dockerfile, Location};
pub use platform::{predefined_args, Platform};
pub use stages::{StageGraph, Stages};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
