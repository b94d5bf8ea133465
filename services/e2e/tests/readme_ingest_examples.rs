//! Every ingest example of the documentation runs and does what the documentation says: those of
//! docs/api.md's "Sending readings" section, and those on README.md that send to ingest.
//!
//! The `sh`/`bash` code blocks are read as a reader reads them: a command continues over
//! `\`-ended lines and over lines inside an open quote; `# ...` lines after a command show what
//! it prints. The test starts ingest in-process on a fresh topic, over TLS and with auth on as
//! `scripts/dev up` runs it, and points the examples at it (`127.0.0.1:50051` becomes its address,
//! `.stack/tls/ca.pem` its CA, `$WRITE_TOKEN` a write token):
//!
//! - the grpcurl `SendReadings` and curl `POST /measurements` examples run with `sh -c` and must
//!   print what the comments show (compared as JSON), which must mean: the batch's sequence 1,
//!   one reading accepted, the second rejected (index 1, `REJECT_REASON_TEMPERATURE_OUT_OF_RANGE`,
//!   field `celsius`); a single reading accepted with no rejects; a list with some readings
//!   accepted and the others rejected, each once, by its index in the list. Exactly the accepted
//!   readings are then in the topic, so a reject's index must point at the reading left out.
//! - a curl `GET /metrics` example must count as accepted exactly the readings the examples
//!   before it had accepted.
//! - every `target/release/generator` line is parsed by the generator's own flags
//!   ([`generator::Config`]), so a flag it no longer has fails; `--help` must list every flag
//!   the lines use and, as the documentation says, every flag with its env var. The
//!   `--count ... --bad-rate ...` line runs to the end through the generator's library entry
//!   point: everything sent is acked, exactly the deliberately bad readings are rejected and the
//!   rest are in the topic. The other lines run for a moment and are stopped as Ctrl-C would.
//!
//! A failure names the file and line of its example (`docs/api.md:57: grpcurl ...`).
//!
//! grpcurl comes from `GRPCURL`, else `$STACK_DIR/go/bin/grpcurl` (`STACK_DIR` defaults to
//! `<repo>/.stack`), else `PATH`; `scripts/dev setup` installs it.

mod support;

use std::{collections::HashSet, net::SocketAddr, path::Path, time::Duration};

use clap::{CommandFactory, Parser, error::ErrorKind};
use serde_json::Value;
use support::start_ingest;
use testkit::{
    StoredRecord,
    docs::{self, FRONT_PAGE, Place},
    tls::TestCa,
    tools::grpcurl,
};

/// The ingest address the documented examples use; replaced by the test ingest's.
const README_ADDR: &str = "127.0.0.1:50051";
/// The document whose `SECTION` holds the ingest examples; every example there is run.
const API_DOC: &str = "docs/api.md";
const SECTION: &str = "## Sending readings";
/// How the documentation runs the generator.
const GENERATOR: &str = "target/release/generator";
const SEND_READINGS: &str = "sensorpipe.v1.IngestService/SendReadings";
/// How long the generator lines that run long (or until Ctrl-C) run before they are stopped.
const BRIEF_RUN: Duration = Duration::from_secs(2);

// ------------------------------------------------------------------------------------ the docs

/// One example: a command as `sh` reads it, and the `# ...` lines after it (what it prints).
#[derive(Debug, Clone)]
struct Example {
    /// The document, relative to the repository root.
    file: &'static str,
    /// The line it starts on.
    line: usize,
    command: String,
    expected: Vec<String>,
}

impl std::fmt::Display for Example {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.command)
    }
}

impl Example {
    fn is_grpcurl(&self) -> bool {
        self.command.starts_with("grpcurl ")
    }

    fn is_curl(&self) -> bool {
        self.command.starts_with("curl ")
    }

    fn is_generator(&self) -> bool {
        self.command.starts_with(GENERATOR)
    }

    /// The `# ...` lines as one text, without their `#`.
    fn expected_text(&self) -> String {
        self.expected
            .iter()
            .map(|l| l.strip_prefix('#').unwrap_or(l).trim())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// What the documentation shows it prints, as JSON.
    fn expected_json(&self) -> Result<Value, String> {
        if self.expected.is_empty() {
            return Err(format!("{self}: no output (`# ...`) is shown for it"));
        }
        let text = self.expected_text();
        serde_json::from_str(&text)
            .map_err(|e| format!("{self}: the output shown is not JSON ({e}): {text}"))
    }
}

/// Where a command being read stands at the end of its text so far.
#[derive(Debug, PartialEq)]
enum Open {
    /// Complete.
    No,
    /// The last line ends with `\`: the next line continues it.
    Backslash,
    /// Inside a quote that the next line goes on with.
    Quote,
}

/// Reads `text` the way `sh` tokenizes quotes, escapes and comments.
fn open_at_end(text: &str) -> Open {
    let mut chars = text.chars();
    let (mut single, mut double) = (false, false);
    let mut word_start = true;
    while let Some(c) = chars.next() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '\\' if !single => {
                // The next character is literal; at the end, the next line continues this one.
                let Some(_) = chars.next() else {
                    return Open::Backslash;
                };
            }
            '#' if !single && !double && word_start => {
                // A comment: to the end of the line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                word_start = true;
                continue;
            }
            _ => {}
        }
        word_start = !single && !double && c.is_whitespace();
    }
    if single || double {
        Open::Quote
    } else {
        Open::No
    }
}

/// The examples of the API doc's "Sending readings" section, in order.
fn section_examples(file: &'static str, doc: &str) -> Vec<Example> {
    shell_examples(file, doc, Some(SECTION))
}

/// The front page's examples that send to ingest or run the generator, in order.
fn front_page_examples(doc: &str) -> Vec<Example> {
    shell_examples(FRONT_PAGE, doc, None)
        .into_iter()
        .filter(|e| e.command.contains(README_ADDR) || e.is_generator())
        .collect()
}

/// The commands of the document's shell code blocks, in order: those of `section` (up to the
/// next `## ` heading), or of the whole document.
fn shell_examples(file: &'static str, doc: &str, section: Option<&str>) -> Vec<Example> {
    let start = section.map_or(0, |section| {
        1 + doc
            .lines()
            .position(|l| l.trim_end() == section)
            .unwrap_or_else(|| panic!("{file} has no `{section}` section"))
    });
    let mut examples: Vec<Example> = Vec::new();
    // The command being read: its first line and its text so far.
    let mut pending: Option<(usize, String)> = None;
    for docs::Line {
        number,
        text: line,
        place,
    } in docs::lines(doc).skip(start)
    {
        if section.is_some() && place == Place::Prose && line.starts_with("## ") {
            break;
        }
        if let Some((first, mut text)) = pending.take() {
            assert!(
                place != Place::Fence,
                "{file}:{first}: the code block ends inside a command"
            );
            match open_at_end(&text) {
                Open::Backslash => {
                    // `sh` drops the backslash and the newline.
                    text.pop();
                    text.push_str(line);
                }
                _ => {
                    text.push('\n');
                    text.push_str(line);
                }
            }
            if open_at_end(&text) == Open::No {
                examples.push(Example {
                    file,
                    line: first,
                    command: text,
                    expected: Vec::new(),
                });
            } else {
                pending = Some((first, text));
            }
            continue;
        }
        if place != Place::Shell || line.trim().is_empty() {
            continue;
        }
        if line.trim_start().starts_with('#') {
            let example = examples.last_mut().unwrap_or_else(|| {
                panic!("{file}:{number}: output shown before any command: {line}")
            });
            example.expected.push(line.trim().to_owned());
            continue;
        }
        if open_at_end(line) == Open::No {
            examples.push(Example {
                file,
                line: number,
                command: line.to_owned(),
                expected: Vec::new(),
            });
        } else {
            pending = Some((number, line.to_owned()));
        }
    }
    assert!(pending.is_none(), "{file}: a command never ends");
    examples
}

/// The arguments `sh` gives the example's program.
fn arguments(example: &Example) -> Vec<String> {
    let program = example
        .command
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("{example}: an empty command"));
    let rest = &example.command[program.len()..];
    let script = format!("args() {{ for a; do printf '%s\\0' \"$a\"; done; }}; args{rest}");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("run sh");
    assert!(
        output.status.success(),
        "{example}: sh cannot parse it: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8 arguments")
        .split_terminator('\0')
        .map(str::to_owned)
        .collect()
}

/// The value after `flag` (`-d`), and the arguments that are no flag's value.
fn split_args(args: &[String], with_value: &[&str]) -> (Vec<(String, String)>, Vec<String>) {
    let mut values = Vec::new();
    let mut positional = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if with_value.contains(&arg.as_str()) {
            let value = args.next().cloned().unwrap_or_default();
            values.push((arg.clone(), value));
        } else if !arg.starts_with('-') {
            positional.push(arg.clone());
        }
    }
    (values, positional)
}

fn value_of<'a>(values: &'a [(String, String)], flag: &str) -> Option<&'a str> {
    values
        .iter()
        .rev()
        .find(|(f, _)| f == flag)
        .map(|(_, v)| v.as_str())
}

// ------------------------------------------------------------------------------------ readings

/// A reading as sent, and as read back from the topic.
#[derive(Debug, Clone, PartialEq)]
struct Reading {
    sensor_id: String,
    measured_at_us: i64,
    celsius: f64,
}

impl Reading {
    fn from_json(example: &Example, value: &Value) -> Self {
        let text = |name: &str| {
            value[name]
                .as_str()
                .unwrap_or_else(|| panic!("{example}: a reading without {name}: {value}"))
                .to_owned()
        };
        let measured_at = chrono::DateTime::parse_from_rfc3339(&text("measured_at"))
            .unwrap_or_else(|e| panic!("{example}: measured_at is not RFC 3339 ({e}): {value}"));
        Self {
            sensor_id: text("sensor_id"),
            measured_at_us: measured_at.timestamp_micros(),
            celsius: value["celsius"]
                .as_f64()
                .unwrap_or_else(|| panic!("{example}: celsius is no number: {value}")),
        }
    }

    fn from_record(stored: &StoredRecord) -> Self {
        assert_eq!(stored.key, stored.record.sensor_id, "keyed by sensor id");
        Self {
            sensor_id: stored.record.sensor_id.clone(),
            measured_at_us: stored.identity().1,
            celsius: stored.record.celsius,
        }
    }
}

fn sorted(mut readings: Vec<Reading>) -> Vec<Reading> {
    readings.sort_by(|a, b| {
        (&a.sensor_id, a.measured_at_us)
            .cmp(&(&b.sensor_id, b.measured_at_us))
            .then(a.celsius.total_cmp(&b.celsius))
    });
    readings
}

/// The `-d` of a grpcurl or curl example, as JSON.
fn data(example: &Example, args: &[String]) -> Value {
    let (values, _) = split_args(args, &["-d", "-H", "-X"]);
    let data = value_of(&values, "-d").unwrap_or_else(|| panic!("{example}: no -d"));
    serde_json::from_str(data).unwrap_or_else(|e| panic!("{example}: -d is not JSON ({e}): {data}"))
}

/// The readings the example sends.
fn sent_readings(example: &Example, data: &Value) -> Vec<Reading> {
    let list = if example.is_grpcurl() {
        &data["readings"]
    } else {
        data
    };
    match list {
        Value::Array(readings) => readings
            .iter()
            .map(|r| Reading::from_json(example, r))
            .collect(),
        Value::Object(_) => vec![Reading::from_json(example, list)],
        other => panic!("{example}: no readings in {other}"),
    }
}

/// The readings the answer accepted: those whose index it does not reject.
fn accepted_readings(sent: &[Reading], answer: &Value) -> Vec<Reading> {
    let rejected: HashSet<u64> = answer["rejects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["index"].as_u64().unwrap_or(0))
        .collect();
    sent.iter()
        .enumerate()
        .filter(|(i, _)| !rejected.contains(&(*i as u64)))
        .map(|(_, r)| r.clone())
        .collect()
}

// ------------------------------------------------------------------------------------ checks

/// What an ingest example does, so the test knows what its answer must mean.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// grpcurl `SendReadings`: one batch.
    SendReadings,
    /// curl `POST /measurements` with one reading (a JSON object).
    PostOne,
    /// curl `POST /measurements` with a list of readings (a JSON array).
    PostList,
    /// curl `GET /metrics`: what ingest counted.
    Metrics,
    Generator,
}

impl Kind {
    /// `None`: an example this test does not know how to run.
    fn of(example: &Example) -> Option<Self> {
        if example.is_generator() {
            Some(Self::Generator)
        } else if example.is_grpcurl() && example.command.contains(SEND_READINGS) {
            Some(Self::SendReadings)
        } else if example.is_curl() && example.command.contains("/measurements") {
            match data(example, &arguments(example)) {
                Value::Array(_) => Some(Self::PostList),
                _ => Some(Self::PostOne),
            }
        } else if example.is_curl() && example.command.contains("/metrics") {
            Some(Self::Metrics)
        } else {
            None
        }
    }
}

/// The example's program printed `out`: the answer, if it is the JSON the documentation shows.
fn shown_answer(example: &Example, out: &str) -> Result<Value, String> {
    let program = example
        .command
        .split_whitespace()
        .next()
        .unwrap_or_default();
    let answer: Value = serde_json::from_str(out)
        .map_err(|e| format!("{example}: {program} did not print JSON ({e}):\n{out}"))?;
    let shown = example.expected_json()?;
    if answer != shown {
        return Err(format!(
            "{example}: {program} printed\n{answer}\nbut {} shows\n{shown}",
            example.file
        ));
    }
    Ok(answer)
}

/// The grpcurl example printed `out`: it must be what the documentation shows, and mean what it
/// says. Returns the answer.
fn check_send_readings(example: &Example, out: &str) -> Result<Value, String> {
    let answer = shown_answer(example, out)?;
    let rejects = answer["rejects"].as_array().cloned().unwrap_or_default();
    let meaning = (
        answer["sequence"].as_str(),
        answer["accepted"].as_u64(),
        rejects.len(),
        rejects.first().map(|r| {
            (
                r["index"].as_u64(),
                r["reason"].as_str(),
                r["field"].as_str(),
            )
        }),
    );
    let want = (
        Some("1"),
        Some(1),
        1,
        Some((
            Some(1),
            Some("REJECT_REASON_TEMPERATURE_OUT_OF_RANGE"),
            Some("celsius"),
        )),
    );
    if meaning != want {
        return Err(format!(
            "{example}: the answer means (sequence, accepted, rejects, (index, reason, field)) \
             {meaning:?}, not {want:?}:\n{answer}"
        ));
    }
    Ok(answer)
}

/// The curl example printed `out`: it must be what the documentation shows, one reading accepted
/// and nothing rejected. Returns the answer.
fn check_post_measurements(example: &Example, out: &str) -> Result<Value, String> {
    let answer = shown_answer(example, out)?;
    let meaning = (
        answer["accepted"].as_u64(),
        answer["rejects"].as_array().map(Vec::len),
    );
    if meaning != (Some(1), Some(0)) {
        return Err(format!(
            "{example}: the answer means (accepted, rejects) {meaning:?}, not (1, 0): {out}"
        ));
    }
    Ok(answer)
}

/// The curl example that sent a list of `sent` readings printed `out`: it must be what the
/// documentation shows, and mean what it says: some readings accepted, the others rejected, each
/// reading one or the other, a rejected one named by its place in the list. (That the index
/// points at the right reading is checked against the topic.) Returns the answer.
fn check_post_list(example: &Example, sent: usize, out: &str) -> Result<Value, String> {
    let answer = shown_answer(example, out)?;
    let rejects = answer["rejects"].as_array().cloned().unwrap_or_default();
    let indexes: Vec<Option<u64>> = rejects.iter().map(|r| r["index"].as_u64()).collect();
    let distinct: HashSet<Option<u64>> = indexes.iter().copied().collect();
    let accepted = answer["accepted"].as_u64().unwrap_or(0);
    let each_once = distinct.len() == indexes.len()
        && indexes.iter().all(|i| i.is_some_and(|i| i < sent as u64))
        && accepted + rejects.len() as u64 == sent as u64;
    if accepted == 0 || rejects.is_empty() || !each_once {
        return Err(format!(
            "{example}: of the {sent} readings sent, the answer must accept some and reject the \
             others, each once by its index in the list (accepted {accepted}, rejected indexes \
             {indexes:?}): {out}"
        ));
    }
    Ok(answer)
}

/// The metrics example printed `out`: ingest's counters, counting as accepted exactly the
/// `accepted` readings the examples before it had accepted.
fn check_ingest_metrics(example: &Example, accepted: usize, out: &str) -> Result<(), String> {
    let counted = out
        .lines()
        .find_map(|l| l.strip_prefix("ingest_readings_accepted_total "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    if counted != Some(accepted as f64) {
        return Err(format!(
            "{example}: ingest_readings_accepted_total must count the {accepted} readings accepted \
             so far, not {counted:?}:\n{out}"
        ));
    }
    Ok(())
}

/// A generator line: its arguments parsed by the generator's own flags. `Ok(None)` for
/// `--help`, with the help in `help`.
fn parse_generator(
    example: &Example,
    help: &mut Option<String>,
) -> Result<Option<generator::Config>, String> {
    let argv = std::iter::once("generator".to_owned()).chain(arguments(example));
    match generator::Config::try_parse_from(argv) {
        Ok(config) => Ok(Some(config)),
        Err(e) if e.kind() == ErrorKind::DisplayHelp => {
            *help = Some(e.render().to_string());
            Ok(None)
        }
        Err(e) => Err(format!(
            "{example}: the generator refuses it:\n{}",
            e.render()
        )),
    }
}

/// Every generator line parses; `--help` is one of them and lists every flag the lines use, and
/// every flag with its env var. Returns each line's config (`None` for `--help`).
fn check_generator_lines(
    examples: &[Example],
) -> Result<Vec<(Example, Option<generator::Config>)>, String> {
    let lines: Vec<&Example> = examples.iter().filter(|e| e.is_generator()).collect();
    if lines.is_empty() {
        return Err(format!("{API_DOC} `{SECTION}` shows no `{GENERATOR}` line"));
    }
    let mut help = None;
    let mut parsed = Vec::new();
    let mut used = Vec::new();
    for example in lines {
        let config = parse_generator(example, &mut help)?;
        if config.is_some() {
            used.extend(
                arguments(example)
                    .into_iter()
                    .filter(|a| a.starts_with("--"))
                    .map(|a| a.split('=').next().unwrap_or_default().to_owned()),
            );
        }
        parsed.push((example.clone(), config));
    }
    let help =
        help.ok_or_else(|| format!("{API_DOC} `{SECTION}` shows no `{GENERATOR} --help`"))?;
    for flag in &used {
        if !help.contains(flag.as_str()) {
            return Err(format!(
                "`{GENERATOR} --help` does not list {flag}, which {API_DOC} uses:\n{help}"
            ));
        }
    }
    // "every flag, with its env var"
    let command = generator::Config::command();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        if !help.contains(&format!("--{long}")) {
            return Err(format!(
                "`{GENERATOR} --help` does not list --{long}:\n{help}"
            ));
        }
        let env = arg
            .get_env()
            .ok_or_else(|| format!("--{long} has no env var, but {API_DOC} says each has"))?;
        let shown = format!("[env: {}=", env.to_string_lossy());
        if !help.contains(&shown) {
            return Err(format!(
                "`{GENERATOR} --help` does not show {shown}...] for --{long}:\n{help}"
            ));
        }
    }
    Ok(parsed)
}

// ------------------------------------------------------------------------------------ running

/// The test's ingest as the examples reach it: over TLS, with a write token.
struct Ingest<'a> {
    addr: SocketAddr,
    ca: &'a TestCa,
    write_token: &'a str,
    token_file: &'a Path,
}

/// Runs the example with `sh -c` against `addr` (and `grpcurl` for grpcurl); it must succeed.
/// Returns its stdout.
/// `$WRITE_TOKEN` is a write token, as `scripts/dev up` tells a reader to set it, and the local CA
/// is the test's.
async fn run_shell(example: &Example, ingest: &Ingest<'_>, grpcurl: &Path) -> String {
    let text = docs::local_command(
        &example.command,
        README_ADDR,
        ingest.addr,
        &ingest.ca.ca_file,
        grpcurl,
    );
    let mut command = docs::sh(&text);
    command.env("WRITE_TOKEN", ingest.write_token);
    docs::stdout(docs::output(command, example).await, example)
}

/// The generator line as the documentation runs it, against the test ingest (`INGEST_URL` would do the
/// same) with a write token (`GENERATOR_TOKEN_FILE` would do the same), giving up within 30 s
/// rather than 60 if ingest is gone.
fn generator_config(example: &Example, ingest: &Ingest<'_>) -> generator::Config {
    let ingest_url = &TestCa::url(ingest.addr, "");
    let args: Vec<String> = arguments(example)
        .iter()
        .map(|a| a.replace(README_ADDR, ingest_url.trim_start_matches("https://")))
        .collect();
    let base = [
        "generator",
        "--ingest-url",
        ingest_url,
        "--token-file",
        ingest.token_file.to_str().expect("a UTF-8 path"),
        "--tls-ca-file",
        ingest.ca.ca_file.to_str().expect("a UTF-8 path"),
        "--give-up-after",
        "30s",
    ];
    generator::Config::try_parse_from(base.iter().map(|s| (*s).to_owned()).chain(args))
        .unwrap_or_else(|e| panic!("{example}: {}", e.render()))
}

async fn run_generator(
    example: &Example,
    config: generator::Config,
    stop_after: Option<Duration>,
) -> generator::Summary {
    let shutdown = async move {
        match stop_after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::time::timeout(Duration::from_secs(300), generator::run(config, shutdown))
        .await
        .unwrap_or_else(|_| panic!("{example}: still running after 5 minutes"))
        .unwrap_or_else(|e| panic!("{example}: the generator cannot run it: {e:#}"))
}

// ------------------------------------------------------------------------------------ the test

/// A grpcurl or curl example: what it sends, read before anything runs.
struct Request {
    example: Example,
    kind: Kind,
    readings: Vec<Reading>,
}

impl Request {
    /// Checks where the example goes (address and method, or URL and HTTP method) and reads the
    /// readings it sends.
    fn read(example: &Example, kind: Kind) -> Self {
        let args = arguments(example);
        let readings = match kind {
            Kind::SendReadings => {
                let (_, positional) = split_args(&args, &["-d", "-H", "-cacert"]);
                assert_eq!(
                    positional,
                    [README_ADDR, SEND_READINGS],
                    "{example}: address and method"
                );
                let data = data(example, &args);
                assert_eq!(
                    data["sequence"].as_u64(),
                    Some(1),
                    "{example}: the ack's sequence is the batch's"
                );
                sent_readings(example, &data)
            }
            Kind::PostOne | Kind::PostList => {
                let (values, positional) = split_args(&args, &["-d", "-H", "-X", "--cacert"]);
                assert_eq!(
                    positional,
                    [format!("https://{README_ADDR}/measurements")],
                    "{example}: URL"
                );
                assert_eq!(value_of(&values, "-X"), Some("POST"), "{example}: method");
                sent_readings(example, &data(example, &args))
            }
            Kind::Metrics => {
                let (values, positional) = split_args(&args, &["-H", "-X", "--cacert"]);
                let urls: Vec<&str> = positional
                    .iter()
                    .map(|url| url.strip_prefix("https://").unwrap_or(url))
                    .collect();
                assert_eq!(urls, [format!("{README_ADDR}/metrics")], "{example}: URL");
                assert_eq!(value_of(&values, "-X"), None, "{example}: a GET");
                Vec::new()
            }
            Kind::Generator => panic!("{example}: a generator line is no single request"),
        };
        Self {
            example: example.clone(),
            kind,
            readings,
        }
    }

    /// The example printed `out`, after the examples before it had `accepted` readings
    /// accepted: the readings it had accepted, if it printed what it must.
    fn check(&self, accepted: usize, out: &str) -> Result<Vec<Reading>, String> {
        let answer = match self.kind {
            Kind::SendReadings => check_send_readings(&self.example, out)?,
            Kind::PostOne => check_post_measurements(&self.example, out)?,
            Kind::PostList => check_post_list(&self.example, self.readings.len(), out)?,
            Kind::Metrics => {
                check_ingest_metrics(&self.example, accepted, out)?;
                return Ok(Vec::new());
            }
            Kind::Generator => unreachable!("a generator line is no Request"),
        };
        Ok(accepted_readings(&self.readings, &answer))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_ingest_example_in_the_docs_does_what_it_says() {
    let examples = section_examples(API_DOC, &docs::read(API_DOC));
    let kinds: Vec<Kind> = examples
        .iter()
        .map(|example| {
            Kind::of(example).unwrap_or_else(|| {
                panic!("{example}: an example this test does not know how to run; teach it")
            })
        })
        .collect();
    for (what, kind) in [
        ("grpcurl SendReadings", Kind::SendReadings),
        ("curl POST /measurements of one reading", Kind::PostOne),
        ("curl POST /measurements of a list", Kind::PostList),
    ] {
        let found: Vec<&Example> = examples
            .iter()
            .zip(&kinds)
            .filter(|(_, k)| **k == kind)
            .map(|(e, _)| e)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{API_DOC} `{SECTION}` must show one {what} example: {found:#?}"
        );
    }
    // Every request of the section, then the front page's.
    let mut requests: Vec<(Example, Kind)> = examples
        .iter()
        .cloned()
        .zip(kinds)
        .filter(|(_, kind)| *kind != Kind::Generator)
        .collect();
    for example in front_page_examples(&docs::read(FRONT_PAGE)) {
        match Kind::of(&example) {
            Some(Kind::Generator) | None => {
                panic!("{example}: an ingest example this test does not know how to run; teach it")
            }
            Some(kind) => requests.push((example, kind)),
        }
    }

    // The generator lines first: they need nothing running.
    let generator_lines = check_generator_lines(&examples).unwrap_or_else(|e| panic!("{e}"));

    // What the grpcurl and curl examples send, and to where.
    let requests: Vec<Request> = requests
        .iter()
        .map(|(example, kind)| Request::read(example, *kind))
        .collect();

    let grpcurl = grpcurl();
    let (brokers, topic) = testkit::fresh_topic("readme-ingest", 3).await;
    // Default rules and auth on, as a reader's ingest has them.
    let tokens = testkit::TestTokens::new();
    let write_token = tokens.create("docs-writer", &["write"]);
    let token_file = tokens.token_file("docs-writer", &write_token);
    let ca = TestCa::new("docs");
    let flags: Vec<String> = tokens.args().into_iter().chain(ca.server_args()).collect();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let ingest = start_ingest(&brokers, &topic, &flags).await;
    let target = Ingest {
        addr: ingest.addr,
        ca: &ca,
        write_token: &write_token,
        token_file: &token_file,
    };

    let mut accepted = Vec::new();
    for request in &requests {
        eprintln!("running {}", request.example);
        let out = run_shell(&request.example, &target, &grpcurl).await;
        let readings = request
            .check(accepted.len(), &out)
            .unwrap_or_else(|e| panic!("{e}"));
        accepted.extend(readings);
    }

    let stored = testkit::read_topic(&brokers, &topic).await;
    assert_eq!(
        sorted(stored.iter().map(Reading::from_record).collect()),
        sorted(accepted.clone()),
        "the topic holds exactly the readings the grpcurl and curl examples had accepted"
    );

    // The line with deliberately bad readings, run to its end.
    let bad: Vec<&(Example, Option<generator::Config>)> = generator_lines
        .iter()
        .filter(|(_, c)| c.as_ref().is_some_and(|c| c.bad_rate > 0.0))
        .collect();
    assert_eq!(
        bad.len(),
        1,
        "{API_DOC} `{SECTION}` must show one generator line with --bad-rate"
    );
    let (example, _) = bad[0];
    eprintln!("running {example}");
    let config = generator_config(example, &target);
    let count = config
        .count
        .unwrap_or_else(|| panic!("{example}: no --count, it would run until Ctrl-C"));
    assert!(
        config.duration.is_none(),
        "{example}: --duration could cut it short"
    );
    let summary = run_generator(example, config, None).await;
    assert!(summary.is_success(), "{example}:\n{summary}");
    assert_eq!(
        summary.outcome,
        generator::Outcome::Completed,
        "{example}:\n{summary}"
    );
    assert_eq!(summary.sent, count, "{example}: all sent\n{summary}");
    assert_eq!(
        summary.accepted + summary.rejected,
        count,
        "{example}: every reading acked\n{summary}"
    );
    assert!(
        summary.injected_bad > 0,
        "{example}: no bad readings made\n{summary}"
    );
    assert_eq!(
        summary.rejected, summary.injected_bad,
        "{example}: exactly the deliberately bad readings rejected\n{summary}"
    );
    assert_eq!(
        (summary.undelivered, summary.unexpected_acks),
        (0, 0),
        "{example}:\n{summary}"
    );
    let stored = testkit::read_topic(&brokers, &topic).await;
    let generated: Vec<Reading> = sorted(stored.iter().map(Reading::from_record).collect())
        .into_iter()
        .filter(|r| !accepted.contains(r))
        .collect();
    assert_eq!(
        generated.len() as u64,
        summary.accepted,
        "{example}: the topic holds every accepted reading, once"
    );
    let identities: HashSet<(&str, i64)> = generated
        .iter()
        .map(|r| (r.sensor_id.as_str(), r.measured_at_us))
        .collect();
    assert_eq!(
        identities.len(),
        generated.len(),
        "{example}: each (sensor_id, measured_at) once"
    );
    eprintln!("{example}:\n{summary}");

    // The other lines run for a moment and are stopped as Ctrl-C would: they start, stream and
    // get every reading they sent acked.
    for (example, config) in &generator_lines {
        if config.is_none() || example.line == bad[0].0.line {
            continue;
        }
        eprintln!("running {example} for {BRIEF_RUN:?}");
        let config = generator_config(example, &target);
        let summary = run_generator(example, config, Some(BRIEF_RUN)).await;
        assert!(summary.is_success(), "{example}:\n{summary}");
        assert!(summary.sent > 0, "{example}: nothing sent\n{summary}");
        assert_eq!(
            summary.accepted + summary.rejected,
            summary.sent,
            "{example}: every reading sent acked\n{summary}"
        );
        assert_eq!(
            summary.rejected, summary.injected_bad,
            "{example}: only deliberately bad readings rejected\n{summary}"
        );
    }
    ingest.stop().await;
}

// ------------------------------------------------------------------------------------ the checks fail

/// The API doc with `from` replaced by `to` (once, and it must be there).
fn broken_doc(from: &str, to: &str) -> String {
    let doc = docs::read(API_DOC);
    assert!(doc.contains(from), "{API_DOC} no longer has {from:?}");
    doc.replacen(from, to, 1)
}

#[test]
fn the_examples_are_read_as_sh_reads_them() {
    let examples = section_examples(API_DOC, &docs::read(API_DOC));
    let send = examples
        .iter()
        .find(|e| e.command.contains(SEND_READINGS))
        .expect("the SendReadings example");
    assert!(send.is_grpcurl(), "{send}");
    assert!(!send.command.contains('\\'), "`\\` continuations joined");
    assert!(send.expected_json().is_ok(), "{send}: {:?}", send.expected);
    assert!(examples.iter().all(|e| !e.command.starts_with('#')));
    let list = examples
        .iter()
        .find(|e| Kind::of(e) == Some(Kind::PostList))
        .expect("the POST example of a list");
    assert!(
        list.command.ends_with("}]'"),
        "read to its closing quote: {list}"
    );
    assert!(list.expected_json().is_ok(), "{list}: {:?}", list.expected);

    let text = "## Sending readings\n\n```bash\nx 'a\n# b' \\\n  c # d\n# out \\\ny\n```\n\n## Next\n```sh\nz\n```\n";
    let examples = section_examples("test.md", text);
    assert_eq!(examples.len(), 2, "{examples:#?}");
    assert_eq!(examples[0].command, "x 'a\n# b'   c # d");
    assert_eq!(examples[0].expected, ["# out \\"]);
    assert_eq!(examples[1].command, "y");
    assert_eq!(
        examples[1].to_string(),
        "test.md:8: y",
        "named by file and line"
    );

    // The front page: its ingest examples only, from any section.
    let text = format!(
        "# Title\n\n```bash\nscripts/dev up\n```\n\n## Tour\n\n```sh\n\
         curl -s http://{README_ADDR}/measurements -d '{{}}'\n# {{}}\ncurl -s 127.0.0.1:50052/sensors\n```\n"
    );
    let examples = front_page_examples(&text);
    assert_eq!(examples.len(), 1, "{examples:#?}");
    assert_eq!(examples[0].line, 10);
    assert_eq!(examples[0].expected, ["# {}"]);
}

#[test]
fn a_generator_flag_that_no_longer_exists_fails() {
    let doc = broken_doc(
        "--count 10000 --bad-rate 0.05",
        "--count 10000 --bad-ratio 0.05",
    );
    let error = check_generator_lines(&section_examples(API_DOC, &doc)).unwrap_err();
    assert!(error.contains("--bad-ratio"), "{error}");
    assert!(
        check_generator_lines(&section_examples(
            API_DOC,
            &broken_doc("--rate 0 ", "--rate zero ")
        ))
        .is_err()
    );
    let doc = broken_doc(
        "target/release/generator --help ",
        "target/release/generator --sensors 1 ",
    );
    assert!(check_generator_lines(&section_examples(API_DOC, &doc)).is_err());
}

/// What grpcurl prints for the documented batch (as the test run sees it).
const GRPCURL_ANSWER: &str = r#"{
  "sequence": "1",
  "accepted": 1,
  "rejects": [
    {
      "index": 1,
      "reason": "REJECT_REASON_TEMPERATURE_OUT_OF_RANGE",
      "field": "celsius",
      "message": "celsius 999 is above the maximum 150"
    }
  ]
}
"#;

/// What curl prints for the documented list (as the test run sees it).
const LIST_ANSWER: &str = r#"{"accepted":2,"rejects":[{"index":1,"reason":"TEMPERATURE_OUT_OF_RANGE","field":"celsius","message":"celsius -120 is below the minimum -90"}]}"#;

#[test]
fn an_answer_other_than_the_docs_show_fails() {
    let find = |doc: &str, kind: Kind| {
        section_examples(API_DOC, doc)
            .into_iter()
            .find(|e| Kind::of(e) == Some(kind))
            .unwrap()
    };
    let send = |doc: &str| find(doc, Kind::SendReadings);
    let post = |doc: &str| find(doc, Kind::PostOne);
    let list = |doc: &str| find(doc, Kind::PostList);
    let doc = docs::read(API_DOC);
    assert!(check_send_readings(&send(&doc), GRPCURL_ANSWER).is_ok());
    assert!(check_post_measurements(&post(&doc), r#"{"accepted":1,"rejects":[]}"#).is_ok());
    assert!(check_post_list(&list(&doc), 3, LIST_ANSWER).is_ok());
    let metrics = front_page_examples(&docs::read(FRONT_PAGE))
        .into_iter()
        .find(|e| Kind::of(e) == Some(Kind::Metrics))
        .expect("the front page's ingest metrics example");
    let counted =
        "# TYPE ingest_readings_accepted_total counter\ningest_readings_accepted_total 5\n";
    assert!(check_ingest_metrics(&metrics, 5, counted).is_ok());
    assert!(check_ingest_metrics(&metrics, 4, counted).is_err());
    assert!(check_ingest_metrics(&metrics, 0, "").is_err());

    let shown_wrong = broken_doc(r#""accepted": 1, "rejects""#, r#""accepted": 2, "rejects""#);
    assert!(check_send_readings(&send(&shown_wrong), GRPCURL_ANSWER).is_err());
    let shown_wrong = broken_doc("\"field\": \"celsius\"", "\"field\": \"readings\"");
    assert!(check_send_readings(&send(&shown_wrong), GRPCURL_ANSWER).is_err());
    // The doc and the answer agree, but not on what the doc says it means.
    let both_wrong = GRPCURL_ANSWER.replace("\"index\": 1", "\"index\": 0");
    let doc_both = broken_doc("\"index\": 1", "\"index\": 0");
    assert!(check_send_readings(&send(&doc_both), &both_wrong).is_err());
    let shown_wrong = broken_doc(r#"{"accepted":1,"rejects":[]}"#, r#"{"accepted":1}"#);
    assert!(
        check_post_measurements(&post(&shown_wrong), r#"{"accepted":1,"rejects":[]}"#).is_err()
    );
    assert!(check_post_measurements(&post(&doc), r#"{"accepted":0,"rejects":[]}"#).is_err());

    // The list: shown otherwise, or agreeing on an answer that cannot be.
    let shown_wrong = broken_doc(r#""index":1,"reason""#, r#""index":2,"reason""#);
    assert!(check_post_list(&list(&shown_wrong), 3, LIST_ANSWER).is_err());
    for (from, to) in [
        (r#""index":1,"#, r#""index":3,"#),
        (r#""accepted":2"#, r#""accepted":3"#),
        (r#""accepted":2"#, r#""accepted":0"#),
    ] {
        let both_wrong = LIST_ANSWER.replace(from, to);
        let doc_both = broken_doc(from, to);
        assert!(
            check_post_list(&list(&doc_both), 3, &both_wrong).is_err(),
            "{from} -> {to}"
        );
    }
}
