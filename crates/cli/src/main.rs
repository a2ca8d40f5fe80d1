//! `ferrograd`: train, evaluate and run PyTorch's "Optimizing Model Parameters"
//! tutorial network on FashionMNIST or MNIST. `ferrograd --help` lists the commands.

mod args;
mod checkpoint;
mod data;
mod eval;
mod plot;
mod train;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(a) => data::set_threads(a.data.threads).and_then(|_| train::run(a)),
        Command::Eval(a) => data::set_threads(a.data.threads).and_then(|_| eval::eval(a)),
        Command::Predict(a) => data::set_threads(a.data.threads).and_then(|_| eval::predict(a)),
        Command::Download(a) => data::download(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the context chain, outermost first.
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("ferrograd: error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}
