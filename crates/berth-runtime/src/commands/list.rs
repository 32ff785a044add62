use anyhow::Result;
use berth_oci::StateRoot;

use crate::cli::ListFormat;

pub fn list(root: &StateRoot, format: ListFormat, quiet: bool) -> Result<i32> {
    let containers = root.list()?;
    if quiet {
        containers.iter().for_each(|c| println!("{}", c.id));
        return Ok(0);
    }
    match format {
        ListFormat::Json => {
            let states: Vec<_> = containers.iter().map(|c| c.oci_state()).collect();
            println!("{}", serde_json::to_string(&states)?);
        }
        ListFormat::Table => {
            println!(
                "{:<20} {:<8} {:<10} {:<40} {:<32} OWNER",
                "ID", "PID", "STATUS", "BUNDLE", "CREATED"
            );
            for c in &containers {
                let s = c.oci_state();
                println!(
                    "{:<20} {:<8} {:<10} {:<40} {:<32} root",
                    s.id,
                    s.pid,
                    s.status.to_string(),
                    s.bundle.display(),
                    s.created
                );
            }
        }
    }
    Ok(0)
}
