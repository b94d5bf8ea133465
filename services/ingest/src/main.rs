#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Ok(sensorpipe::service::main::<ingest::Application>().await?)
}
