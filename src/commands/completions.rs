//! `certpilot completions SHELL` and `certpilot manpage [--out DIR]`: generated from the
//! clap definitions (`clap_complete`, `clap_mangen`), so they can never list an option that does
//! not exist.

use std::path::Path;

use clap::CommandFactory;

use super::{Failure, Outcome};
use crate::cli::Cli;

/// The binary's name, as completions register it.
const BIN: &str = "certpilot";

/// Print the completion script for `shell` on stdout.
// Returns `Outcome` like every other command in `commands::run`'s match.
#[allow(clippy::unnecessary_wraps)]
pub(super) fn completions(shell: clap_complete::Shell) -> Outcome {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    Ok(())
}

/// Print the top-level man page, or write every command's page into `dir`.
pub(super) fn manpage(dir: Option<&Path>) -> Outcome {
    let command = Cli::command();
    let Some(dir) = dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|e| Failure::Failed(format!("rendering the man page: {e}")))?;
        out!("{}", String::from_utf8_lossy(&page));
        return Ok(());
    };
    if dir.exists() && !dir.is_dir() {
        return Err(Failure::Usage(format!(
            "--out {}: not a directory",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Failed(format!("--out {}: {e}", dir.display())))?;
    clap_mangen::generate_to(command, dir)
        .map_err(|e| Failure::Failed(format!("writing man pages to {}: {e}", dir.display())))?;
    outln!("man pages written to {}", dir.display());
    Ok(())
}
