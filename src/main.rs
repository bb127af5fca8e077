//! Entry point: parse the command line and run it.

use clap::Parser;

/// mimalloc instead of glibc's malloc: the hot paths spent 13–30% of the
/// server's CPU in glibc's malloc and free (rows are many small strings,
/// often freed on another thread than the one that made them); with it the
/// Review Board page takes 0.67× the CPU (docs/performance.md). Built with
/// `no_thp`: on transparent huge pages its arenas took a stream's peak RSS
/// from 31 to 115 MiB; without them it stays at ~45 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    oauth_registry::allocator::tune();
    let cli = oauth_registry::cli::Cli::parse();
    match oauth_registry::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
