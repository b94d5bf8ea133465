#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Ok(sensorpipe::service::main::<admin::Application>().await?)
}
