use std::process::ExitCode;

use clap::Parser;
use generator::Config;
use sensorpipe::{shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let config = Config::parse();
    telemetry::init(&config.telemetry);
    let summary = generator::run(config, shutdown::signal()).await?;
    println!("{summary}");
    Ok(if summary.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
