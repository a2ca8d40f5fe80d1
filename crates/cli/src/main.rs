//! `ferrograd`: train, evaluate and run PyTorch's "Optimizing Model Parameters"
//! tutorial network on FashionMNIST or MNIST. `ferrograd --help` lists the commands.

mod args;
mod checkpoint;
mod data;
#[cfg(feature = "distributed")]
mod distributed;
mod eval;
mod plot;
mod train;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Tensors start on cache lines (autograd's `CacheAligned` says why).
#[global_allocator]
static ALLOC: autograd::CacheAligned = autograd::CacheAligned;

/// Print a line on stdout. When the reader has gone (`ferrograd train |
/// head`), stop quietly with the status of a process killed by SIGPIPE, as
/// other Unix tools do, instead of Rust's panic on the failed write.
pub fn say(line: &str) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(128 + 13);
        }
        eprintln!("ferrograd: error: writing to stdout: {e}");
        std::process::exit(1);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(a) => data::set_threads(a.data.threads).and_then(|_| train::run(a)),
        Command::Eval(a) => data::set_threads(a.data.threads).and_then(|_| eval::eval(a)),
        Command::Predict(a) => data::set_threads(a.data.threads).and_then(|_| eval::predict(a)),
        Command::Download(a) => data::download(a),
    };
    // Under mpirun: finalize MPI, or name this rank in the error and abort the job.
    #[cfg(feature = "distributed")]
    let result = distributed::finish(result);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the context chain, outermost first.
            // A cause that its wrapper already quotes is not repeated.
            let mut line = String::new();
            for cause in e.chain().map(|c| c.to_string()) {
                if !line.ends_with(&cause) {
                    line = if line.is_empty() {
                        cause
                    } else {
                        format!("{line}: {cause}")
                    };
                }
            }
            eprintln!("ferrograd: error: {line}");
            ExitCode::FAILURE
        }
    }
}
