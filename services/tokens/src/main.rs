use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match tokens::run(tokens::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tokens: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
