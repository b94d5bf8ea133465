//! The `tokens` command as an operator runs it: a secret is shown once and kept nowhere, the
//! tokens file and `list` hold no secret, `ensure` keeps a token that is in place and replaces one
//! whose secret file is gone, and mistakes are named.

use std::{path::Path, process::Output};

use sensorpipe::auth::tokens::TokenFile;

fn tokens(file: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tokens"))
        .arg("--tokens-file")
        .arg(file)
        .args(args)
        .env_remove("AUTH_TOKENS_FILE")
        .output()
        .expect("tokens runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_secret_is_shown_once_and_kept_nowhere() {
    let dir = testkit::TempDir::new("tokens-cli");
    let file = dir.path().join("tokens.json");
    let made = tokens(
        &file,
        &["create", "--name", "kitchen", "--scope", "write:kitchen-"],
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let stdout = text(&made.stdout);
    let token = stdout.trim();
    assert_eq!(
        stdout.lines().count(),
        1,
        "stdout is the secret alone: {stdout}"
    );
    let secret = token.rsplit('_').next().unwrap();
    assert!(
        !text(&made.stderr).contains(secret),
        "stderr does not repeat it"
    );
    assert!(!std::fs::read_to_string(&file).unwrap().contains(secret));
    let stored = TokenFile::load(&file).unwrap();
    assert!(stored.tokens[0].matches(token));

    let listed = tokens(&file, &["list"]);
    let listing = text(&listed.stdout);
    assert!(
        listing.contains("kitchen") && listing.contains("write:kitchen-"),
        "{listing}"
    );
    assert!(!listing.contains(secret));

    let revoked = tokens(&file, &["revoke", "kitchen"]);
    assert!(revoked.status.success());
    assert!(TokenFile::load(&file).unwrap().live().next().is_none());
    let again = tokens(&file, &["revoke", "kitchen"]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("no token has the id or name `kitchen`"));
}

#[test]
fn ensure_keeps_a_token_in_place_and_replaces_one_whose_secret_is_gone() {
    let dir = testkit::TempDir::new("tokens-ensure");
    let file = dir.path().join("tokens.json");
    let output = dir.path().join("reader.token");
    let ensure = || {
        let run = tokens(
            &file,
            &[
                "ensure",
                "--name",
                "reader",
                "--scope",
                "read",
                "--output",
                output.to_str().unwrap(),
            ],
        );
        assert!(run.status.success(), "{}", text(&run.stderr));
        assert!(run.stdout.is_empty(), "ensure never prints a secret");
        std::fs::read_to_string(&output).unwrap()
    };
    let first = ensure();
    assert_eq!(ensure(), first, "kept while its file holds it");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&output).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the secret file is the owner's only");
    }
    std::fs::remove_file(&output).unwrap();
    let second = ensure();
    assert_ne!(second, first);
    let stored = TokenFile::load(&file).unwrap();
    let live: Vec<_> = stored.live().collect();
    assert_eq!(live.len(), 1, "the old one is revoked");
    assert!(live[0].matches(second.trim()) && !live[0].matches(first.trim()));
}

#[test]
fn mistakes_are_named() {
    let dir = testkit::TempDir::new("tokens-mistakes");
    let file = dir.path().join("tokens.json");
    let bad_scope = tokens(&file, &["create", "--name", "x", "--scope", "owner"]);
    assert!(!bad_scope.status.success());
    assert!(text(&bad_scope.stderr).contains("scope `owner` is unknown"));
    assert!(!file.exists(), "nothing made");
    assert!(
        tokens(&file, &["create", "--name", "x", "--scope", "read"])
            .status
            .success()
    );
    let twice = tokens(&file, &["create", "--name", "x", "--scope", "read"]);
    assert!(text(&twice.stderr).contains("a token named `x` exists already"));
    let missing = tokens(&dir.path().join("nope.json"), &["list"]);
    assert!(text(&missing.stderr).contains("cannot read the tokens file"));
}
