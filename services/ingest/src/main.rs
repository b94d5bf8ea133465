use clap::Parser;
use ingest::{Application, Config};
use sensorpipe::{service, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(&config.telemetry);
    service::run::<Application>(config).await?;
    Ok(())
}
