//! `ayuda`: the command line. One file per subcommand; this file parses arguments, dispatches,
//! and maps errors to exit codes (0 ok, 1 failure, 2 bad usage).

mod ask;
mod build;
mod embed;
mod eval;
mod help_es;
mod inbox;
mod lint;
mod listen;
mod model_cmd;
mod say;
mod serve;
mod site;
mod support;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use say::say;

// The help below is the English; `help_es` has the Spanish of each line.
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
    let cli = if say::is_spanish() {
        let matches = help_es::spanish(Cli::command()).get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
    } else {
        Cli::parse()
    };
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
            let causes = causes(&err);
            eprintln!(
                "{}",
                say!(en: "ayuda: error: {causes}", es: "ayuda: error: {causes}")
            );
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by ": ", each said once. Many errors already end their
/// message with their cause's (`{path}: {source}`), and anyhow's `{:#}` would repeat it
/// ("faq.csv: No such file or directory: No such file or directory"). The library's commonest
/// errors are said in the owner's language (`say::library_error`), the rest as written.
fn causes(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = say::library_error(cause).unwrap_or_else(|| cause.to_string());
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_its_errors_message_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let err = anyhow::Error::from(ayuda::native::SourceLoadError::Io {
            path: "nope.csv".into(),
            source: io,
        });
        assert_eq!(causes(&err), "nope.csv: No such file or directory");
        let err = err.context("building x.kb");
        assert_eq!(
            causes(&err),
            "building x.kb: nope.csv: No such file or directory"
        );
    }

    #[test]
    fn a_truncated_bundle_says_so_once() {
        let err = anyhow::Error::from(ayuda::native::LoadError::Bundle {
            path: "t.kb".into(),
            source: ayuda::kb::Bundle::from_bytes(b"AYUDAKB\0").unwrap_err(),
        });
        let text = causes(&err);
        assert_eq!(text.matches("again").count(), 1, "{text}");
    }
}
