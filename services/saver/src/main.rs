use clap::Parser;
use saver::{Application, Command, Config};
use sensorpipe::{service, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(&config.telemetry);
    match config.command.unwrap_or(Command::Run) {
        Command::Migrate => saver::migrate(&config).await?,
        Command::Run => service::run::<Application>(config).await?,
    }
    Ok(())
}
