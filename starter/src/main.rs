//! `bookings`: the operator CLI of the booking engine (commands in [`cli`]).

mod cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    cli::main().await
}
