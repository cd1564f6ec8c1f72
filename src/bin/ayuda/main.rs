//! `ayuda`: the command line. One file per subcommand; this file parses arguments, dispatches,
//! and maps errors to exit codes (0 ok, 1 failure, 2 bad usage).

mod embed;
mod model_cmd;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ayuda",
    version,
    about = "Answers from a business's own FAQ, inside the visitor's browser"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Model files: pack a sentence-transformers directory into one compact file.
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
    /// Embed texts from stdin (one per line, or JSONL {"text": ...}) to JSONL on stdout.
    Embed(embed::EmbedArgs),
    /// Serve a folder over HTTP on loopback (the demo and the browser tests use it).
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Model(cmd) => model_cmd::run(cmd),
        Command::Embed(args) => embed::run(args),
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed pipe (`ayuda embed | head`) is the reader's choice, not a failure.
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("ayuda: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
