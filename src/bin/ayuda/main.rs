//! `ayuda`: the command line. One file per subcommand; this file parses arguments, dispatches,
//! and maps errors to exit codes (0 ok, 1 failure, 2 bad usage).

mod ask;
mod build;
mod embed;
mod eval;
mod inbox;
mod lint;
mod listen;
mod model_cmd;
mod serve;
mod site;
mod support;

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
    /// Check FAQ sources for problems that make answers wrong or missing (exit 1 on errors).
    Lint(lint::LintArgs),
    /// Build a knowledge-base bundle from FAQ sources with a model.
    Build(build::BuildArgs),
    /// Ask a knowledge base one question and print the outcome.
    Ask(ask::AskArgs),
    /// Score a knowledge base on labelled questions (CSV text,label).
    Eval(eval::EvalArgs),
    /// Put the chat on a built static site: writes PUBLIC_DIR/ayuda/ and the tag.
    Site(site::SiteArgs),
    /// Serve a folder over HTTP on loopback (the demo and the browser tests use it).
    Serve(serve::ServeArgs),
    /// Receive visitors' messages over HTTP into a SQLite file; `inbox list` prints them.
    Inbox(inbox::InboxArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Model(cmd) => model_cmd::run(cmd),
        Command::Embed(args) => embed::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Build(args) => build::run(args),
        Command::Ask(args) => ask::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Site(args) => site::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Inbox(args) => inbox::run(args),
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
