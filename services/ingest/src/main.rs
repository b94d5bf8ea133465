use clap::Parser;
use ingest::{Application, Config};
use sensorpipe::{shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(&config.telemetry);
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown::signal()).await?;
    Ok(())
}
