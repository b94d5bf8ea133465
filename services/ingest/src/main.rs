/// mimalloc rather than glibc's malloc: one reading per HTTP POST allocates and frees small
/// buffers on every request, and glibc's arenas spent about an eighth of ingest's CPU there at
/// 128 connections (docs/performance.md, "One reading per HTTP POST").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Ok(sensorpipe::service::main::<ingest::Application>().await?)
}
