//! `yardstick`: measure language models against each other, with numbers that match
//! the reference harnesses.
//!
//! The binary parses arguments into typed settings and makes one library call per
//! subcommand; scoring, storage and output live in the library crates.

mod args;
mod bench_api;
mod bench_store;
mod commands;
mod contam;
mod judged;
mod report;
mod sandbox;
mod serve;
mod status;
mod table;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    match commands::dispatch(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.downcast_ref::<commands::Incomplete>().is_some() {
                std::process::ExitCode::from(commands::Incomplete::EXIT_CODE)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}
