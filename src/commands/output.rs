//! Standard output for the headless commands, tolerant of a closed pipe.
//!
//! `println!` panics when stdout is gone (`certpilot list | head -1`: `head` exits after one
//! line). A reader that stops listening is not a failure of the command: the command still
//! finishes its work (an issuance half printed must not be half done), it just stops
//! talking. Other write errors (a full disk behind a redirection) go to the log.

use std::io::Write;

/// Write `args` to stdout; a closed pipe or any other write error is not fatal.
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            tracing::warn!(error = %e, "cannot write to standard output");
        }
    }
}

/// `print!` for commands: never panics on a closed stdout.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::output::write(format_args!($($arg)*))
    };
}

/// `println!` for commands: never panics on a closed stdout.
macro_rules! outln {
    () => {
        $crate::commands::output::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::commands::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}
