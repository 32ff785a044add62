use anyhow::Result;
use berth_oci::{Console, CreateOptions, StateRoot};

use crate::cli::CreateArgs;

pub(super) fn options(
    args: &CreateArgs,
    start_immediately: bool,
    console: Console,
) -> CreateOptions {
    CreateOptions {
        id: args.id.clone(),
        bundle: args.bundle.clone(),
        pid_file: args.pid_file.clone(),
        console,
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserve_fds: args.preserve_fds,
        start_immediately,
    }
}

pub(super) fn console_for(args: &CreateArgs) -> Console {
    args.console_socket
        .clone()
        .map_or(Console::None, Console::Socket)
}

pub fn create(root: &StateRoot, args: &CreateArgs) -> Result<i32> {
    berth_oci::create(root, options(args, false, console_for(args)))?;
    Ok(0)
}
