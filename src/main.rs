use clap::Parser;

/// mimalloc instead of the system allocator: a request allocates a few dozen small
/// objects across threads, and glibc's malloc and free were a quarter of what a cheap
/// request cost (callgrind).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = latchkey::cli::Cli::parse();
    match latchkey::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latchkey: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
