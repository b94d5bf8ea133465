//! `tokens`: the command that makes and revokes the bearer tokens of ingest and admin, in the
//! tokens file both read (`AUTH_TOKENS_FILE`). A new token's secret is shown once, on stdout
//! alone (so `TOKEN=$(tokens create ...)` works) or written to an owner-only file; the tokens file
//! keeps only its hash. Services pick up changes within their reload interval (1s by default).

use std::{
    fs::{self, File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use sensorpipe::{
    auth::{Scope, tokens::TokenFile},
    config::read_secret_file,
};

/// Creates, lists and revokes the bearer tokens ingest and admin accept.
#[derive(Debug, Parser)]
#[command(name = "tokens", version, about)]
pub struct Cli {
    /// The tokens file the services read; created by the first `create`.
    #[arg(long, env = "AUTH_TOKENS_FILE", value_name = "PATH")]
    pub tokens_file: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Makes a token and shows its secret once.
    Create {
        /// A name people recognise (`kitchen-sensors`, `dashboard`), unique among live tokens.
        #[arg(long)]
        name: String,
        /// What it may do, one or more: `write` (readings of any sensor), `write:<prefix>` (only
        /// of sensors whose id starts with it), `read`, `admin`.
        #[arg(long = "scope", required = true, value_name = "SCOPE")]
        scopes: Vec<Scope>,
        /// Write the secret to this new file (owner-only) instead of stdout.
        #[arg(long, value_name = "PATH")]
        output: Option<PathBuf>,
    },
    /// Makes sure a live token named NAME exists with its secret in OUTPUT: for scripts that run
    /// again and again (`scripts/dev up`, compose). Does nothing when OUTPUT holds that token;
    /// otherwise revokes any live token of that name and makes a new one into OUTPUT.
    Ensure {
        #[arg(long)]
        name: String,
        #[arg(long = "scope", required = true, value_name = "SCOPE")]
        scopes: Vec<Scope>,
        #[arg(long, value_name = "PATH")]
        output: PathBuf,
    },
    /// Revokes a live token by id or name; callers using it are refused within seconds.
    Revoke {
        #[arg(value_name = "ID_OR_NAME")]
        token: String,
    },
    /// Lists the tokens: id, name, scopes, when made and revoked. Never a secret.
    List,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let path = &cli.tokens_file;
    match cli.command {
        Command::Create {
            name,
            scopes,
            output,
        } => issue(path, &name, scopes, output.as_deref(), false)?,
        Command::Ensure {
            name,
            scopes,
            output,
        } => {
            let file = TokenFile::load_or_empty(path)?;
            let kept = read_secret_file(&output, "token")
                .ok()
                .is_some_and(|token| {
                    file.live().any(|entry| {
                        entry.name == name && entry.scopes.0 == scopes && entry.matches(&token)
                    })
                });
            if kept {
                eprintln!(
                    "token `{name}` is in place; its secret is in {}",
                    output.display()
                );
                return Ok(());
            }
            let _ = fs::remove_file(&output);
            issue(path, &name, scopes, Some(&output), true)?;
        }
        Command::Revoke { token } => {
            let entry = TokenFile::update(path, |file| file.revoke(&token))?;
            eprintln!("revoked token {} `{}`", entry.id, entry.name);
        }
        Command::List => {
            let file = TokenFile::load(path)?;
            println!(
                "{:<12}  {:<20}  {:<20}  {:<20}  REVOKED",
                "ID", "NAME", "SCOPES", "CREATED"
            );
            for entry in &file.tokens {
                let when = |at: DateTime<Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                println!(
                    "{:<12}  {:<20}  {:<20}  {:<20}  {}",
                    entry.id,
                    entry.name,
                    entry.scopes.to_string(),
                    when(entry.created_at),
                    entry.revoked_at.map(when).unwrap_or_else(|| "-".into())
                );
            }
        }
    }
    Ok(())
}

/// Adds a token to the tokens file at `path` (first revoking a live one of the same name when
/// `replace`). Its secret goes to a new owner-only file at `output`, or alone to stdout: the only
/// time it exists outside the caller's hands. The output file is created before the token is
/// saved, so a clash there makes nothing.
fn issue(
    path: &Path,
    name: &str,
    scopes: Vec<Scope>,
    output: Option<&Path>,
    replace: bool,
) -> anyhow::Result<()> {
    let secret_file = output.map(new_secret_file).transpose()?;
    let (entry, token) = TokenFile::update(path, |file| {
        if replace && file.revoke(name).is_ok() {
            eprintln!("revoked the old token `{name}`: its secret was not at hand");
        }
        file.create(name, scopes)
    })?;
    eprintln!(
        "created token {} `{}` with scopes {} in {}",
        entry.id,
        entry.name,
        entry.scopes,
        path.display()
    );
    match (secret_file, output) {
        (Some(mut secret_file), Some(output)) => {
            writeln!(secret_file, "{token}")
                .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!(
                "its secret is in {} (readable by you only)",
                output.display()
            );
        }
        _ => {
            eprintln!("its secret follows; it is shown only this once:");
            println!("{token}");
        }
    }
    Ok(())
}

/// A new owner-only file: overwriting would lose the secret that was there.
fn new_secret_file(output: &Path) -> anyhow::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(output)
        .with_context(|| format!("cannot create {}", output.display()))
}
