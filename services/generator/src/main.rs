use clap::Parser;
use generator::Config;
use sensorpipe::telemetry;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(&config.telemetry);
    anyhow::bail!(
        "streaming to {} is not implemented yet: it arrives with the ingest path",
        config.ingest_url
    )
}
