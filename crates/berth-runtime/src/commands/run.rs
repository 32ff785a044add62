use anyhow::Result;
use berth_oci::{Console, StateRoot};

use super::create::{console_for, options};
use crate::cli::CreateArgs;
use crate::log::warn;

/// create + start in one go; in the foreground, waits and exits with the container's code.
pub fn run(root: &StateRoot, args: &CreateArgs, detach: bool, keep: bool) -> Result<i32> {
    let console = match console_for(args) {
        // Foreground with a terminal and nobody to hand it to: proxy it ourselves.
        Console::None if !detach => Console::Caller,
        other => other,
    };
    let created = berth_oci::create(root, options(args, true, console))?;
    if detach {
        return Ok(0);
    }
    let code = berth_oci::supervise(created.container.pid, created.pty_master)?;
    if !keep {
        berth_oci::delete(root, &args.id, true)?
            .iter()
            .for_each(|w| warn(w));
    }
    Ok(code)
}
