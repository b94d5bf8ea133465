//! `--database-url-file`: the URL, password included, read from a file, so it is on no command line
//! and in no environment listing; a missing file is named, its content never shown.

use std::process::{Command, Output};

use testkit::TempDir;

/// `saver <args> migrate` without `DATABASE_URL` in its environment (it conflicts with the file).
fn migrate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_saver"))
        .args(args)
        .arg("migrate")
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_URL_FILE")
        .output()
        .expect("the saver binary runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_saver_reads_its_database_url_from_a_file_and_never_shows_it() {
    let url = testkit::fresh_database("url_file").await;
    let (_, password_at_host) = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once(':'))
        .expect("the test URL has a password");
    let secret = password_at_host.split('@').next().unwrap().to_owned();
    let dir = TempDir::new("database-url-file");
    let file = dir.path().join("database-url");
    std::fs::write(&file, format!("{url}\n")).unwrap();
    let path = file.to_str().unwrap();

    let output = migrate(&["--database-url-file", path]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("schema up to date"), "{stderr}");
    assert!(
        !stderr.contains(&format!(":{secret}@")),
        "the password is logged: {stderr}"
    );

    let missing = dir.path().join("missing");
    let output = migrate(&["--database-url-file", missing.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("cannot read the database URL file") && stderr.contains("missing"),
        "{stderr}"
    );

    let output = migrate(&["--database-url-file", path, "--database-url", &url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "both at once are refused");
    assert!(!stderr.contains(&format!(":{secret}@")), "{stderr}");
}
