//! Reading the documentation's shell examples (README.md, docs/*.md) the way a reader does, for
//! the tests that run them as written.

use std::{fmt::Display, net::SocketAddr, path::Path, process::Output, time::Duration};

use tokio::process::Command;

use crate::{repo_root, tools::quote};

/// How long an example may run before the test gives up on it.
const EXAMPLE_DEADLINE: Duration = Duration::from_secs(60);

/// The front page, read first.
pub const FRONT_PAGE: &str = "README.md";
/// The other documents: every `.md` file in this folder, by name.
pub const DOCS_DIR: &str = "docs";

/// The documents with examples, relative to the repository root: README.md, then docs/*.md by
/// name, the order a reader meets them in.
pub fn documents() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(repo_root().join(DOCS_DIR))
        .unwrap_or_else(|e| panic!("read {DOCS_DIR}/: {e}"))
        .map(|entry| entry.expect("a docs/ entry").file_name())
        .filter_map(|name| name.to_str().map(str::to_owned))
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("{DOCS_DIR}/{name}"))
        .collect();
    docs.sort();
    std::iter::once(FRONT_PAGE.to_owned()).chain(docs).collect()
}

/// A document's text; `file` is relative to the repository root (`docs/api.md`).
pub fn read(file: &str) -> String {
    std::fs::read_to_string(repo_root().join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
}

/// Where a line of a Markdown text stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Outside any code block.
    Prose,
    /// A fence: ```` ``` ```` opening or closing a code block.
    Fence,
    /// Inside a `sh`, `bash` or `shell` code block: what a reader would type.
    Shell,
    /// Inside a code block of any other kind.
    OtherBlock,
}

/// A line of a Markdown text and where it stands.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// 1-based, as editors and `docs/api.md:<line>` in messages count.
    pub number: usize,
    pub text: &'a str,
    pub place: Place,
}

/// Every line of `markdown`, each with where it stands.
pub fn lines(markdown: &str) -> impl Iterator<Item = Line<'_>> {
    let mut block = None;
    markdown.lines().enumerate().map(move |(index, text)| {
        let place = match text.trim_start().strip_prefix("```") {
            Some(info) => {
                block = match block {
                    Some(_) => None,
                    None if matches!(info.trim(), "sh" | "bash" | "shell") => Some(Place::Shell),
                    None => Some(Place::OtherBlock),
                };
                Place::Fence
            }
            None => block.unwrap_or(Place::Prose),
        };
        Line {
            number: index + 1,
            text,
            place,
        }
    })
}

/// The local CA the documented examples trust (`scripts/dev up` serves ingest and admin with its
/// certificates); a test replaces it by its own CA's file.
pub const LOCAL_CA: &str = ".stack/tls/ca.pem";

/// An example's command as `sh -c` runs it against a test server: the documented address
/// (`readme_addr`) replaced by the server's, the local CA by `ca_file` (the test CA that signed
/// the server's certificate), and a leading `grpcurl` by the one the tests found
/// ([`grpcurl`](crate::tools::grpcurl)).
pub fn local_command(
    command: &str,
    readme_addr: &str,
    addr: SocketAddr,
    ca_file: &Path,
    grpcurl: &Path,
) -> String {
    let text = command
        .replace(readme_addr, &addr.to_string())
        .replace(LOCAL_CA, &ca_file.to_string_lossy());
    match text.strip_prefix("grpcurl ") {
        Some(args) => format!("{} {args}", quote(&grpcurl.to_string_lossy())),
        None => text,
    }
}

/// `sh -c <command>` in the repository's root, where a reader runs the examples; killed when
/// dropped, so a test that gives up leaves nothing running.
pub fn sh(command: &str) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(command)
        .current_dir(repo_root())
        .kill_on_drop(true);
    sh
}

/// Runs `command` to its end, at most a minute; `what` names it in messages.
pub async fn output(mut command: Command, what: impl Display) -> Output {
    tokio::time::timeout(EXAMPLE_DEADLINE, command.output())
        .await
        .unwrap_or_else(|_| panic!("{what}: still running after {EXAMPLE_DEADLINE:?}"))
        .expect("run sh")
}

/// The stdout of a command that must have succeeded; `what` names it in messages.
pub fn stdout(output: Output, what: impl Display) -> String {
    assert!(
        output.status.success(),
        "{what}: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[cfg(test)]
mod tests {
    use super::{Place, lines};

    #[test]
    fn lines_know_their_block() {
        let text = "a\n```sh\nx\n```\n```json\n{}\n```\n## b\n";
        let places: Vec<_> = lines(text).map(|l| (l.number, l.place)).collect();
        assert_eq!(
            places,
            [
                (1, Place::Prose),
                (2, Place::Fence),
                (3, Place::Shell),
                (4, Place::Fence),
                (5, Place::Fence),
                (6, Place::OtherBlock),
                (7, Place::Fence),
                (8, Place::Prose),
            ]
        );
    }
}
