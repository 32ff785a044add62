//! The Dockerfile language as BuildKit's frontend and dockerd's classic builder read it:
//! parser directives, line continuations and heredocs (`parser`), typed instructions
//! (`instructions`), shell-style word expansion (`expand`), the stage graph a target needs
//! (`stages`), and `.dockerignore` patterns (`ignore`). Pure: no file system, no processes;
//! the engine's builder executes what this crate describes.
//!
//! ```
//! use std::collections::BTreeMap;
//! use berth_dockerfile::{predefined_args, Dockerfile, Expander, Platform};
//!
//! let text = "ARG V=3.20\nFROM alpine:$V AS base\nENV DIR=/app\nWORKDIR $DIR\n";
//! let dockerfile = Dockerfile::parse("Dockerfile", text)?;
//! let stages = dockerfile.stages()?;
//! let host = Platform::host();
//! let build_args = BTreeMap::from([("V".to_string(), "3.21".to_string())]);
//! let graph = stages.resolve(&build_args, &predefined_args(&host, &host))?;
//! assert_eq!(graph.needed(None)?, [0]);
//!
//! // The builder expands each instruction with the ENV and ARG values of its moment.
//! let env = BTreeMap::from([("DIR".to_string(), "/app".to_string())]);
//! let workdir = &stages.stages()[0].instructions[1];
//! let mut expander = Expander::new(dockerfile.lexer(), &env);
//! let expanded = workdir.expand(&mut expander)?;
//! assert_eq!(format!("Step 4/4 : {}", workdir.original), "Step 4/4 : WORKDIR $DIR");
//! assert!(matches!(expanded.kind, berth_dockerfile::InstructionKind::Workdir(ref d) if d == "/app"));
//! assert!(expander.used().contains("DIR"));
//! # Ok::<(), berth_dockerfile::DockerfileError>(())
//! ```
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
