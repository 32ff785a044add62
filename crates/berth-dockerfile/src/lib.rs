//! The Dockerfile language as BuildKit's frontend and dockerd's classic builder read it:
//! parser directives, line continuations and heredocs (`parser`), typed instructions
//! (`instructions`), shell-style word expansion (`expand`), the stage graph a target needs
//! (`stages`), and `.dockerignore` patterns (`ignore`). Pure: no file system, no processes;
//! the engine's builder executes what this crate describes.
pub mod ignore;
