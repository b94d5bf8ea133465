use clap::Parser;
use saver::{Application, Command, Config};
use sensorpipe::{shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(&config.telemetry);
    match config.command.unwrap_or(Command::Run) {
        Command::Migrate => saver::migrate(&config).await?,
        Command::Run => {
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown::signal()).await?;
        }
    }
    Ok(())
}
