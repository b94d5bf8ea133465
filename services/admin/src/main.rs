use admin::{Application, Config};
use clap::Parser;
use sensorpipe::{service, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(&config.telemetry);
    service::run::<Application>(config).await?;
    Ok(())
}
