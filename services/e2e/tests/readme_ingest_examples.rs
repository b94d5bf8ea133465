//! Every example of README.md's "Sending readings" section runs and does what the README says.
//!
//! The section's `sh`/`bash` code blocks are read as a reader reads them: a command continues
//! over `\`-ended lines and over lines inside an open quote; `# ...` lines after a command show
//! what it prints. The test starts ingest in-process on a fresh topic and points the examples at
//! it (`127.0.0.1:50051` becomes its address):
//!
//! - the grpcurl `SendReadings` and curl `POST /measurements` examples run with `sh -c` and must
//!   print what the README's comments show (compared as JSON), which must mean: the batch's
//!   sequence 1, one reading accepted, the second rejected (index 1,
//!   `REJECT_REASON_TEMPERATURE_OUT_OF_RANGE`, field `celsius`); the single reading accepted with
//!   no rejects. Exactly the accepted readings are then in the topic.
//! - every `target/release/generator` line is parsed by the generator's own flags
//!   ([`generator::Config`]), so a flag it no longer has fails; `--help` must list every flag
//!   the lines use and, as the README says, every flag with its env var. The
//!   `--count ... --bad-rate ...` line runs to the end through the generator's library entry
//!   point: everything sent is acked, exactly the deliberately bad readings are rejected and the
//!   rest are in the topic. The other lines run for a moment and are stopped as Ctrl-C would.
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
    readme::{self, Place, read_readme},
    tools::grpcurl,
};

/// The ingest address the README's examples use; replaced by the test ingest's.
const README_ADDR: &str = "127.0.0.1:50051";
/// The README section whose examples this test runs.
const SECTION: &str = "## Sending readings";
/// How the README runs the generator.
const GENERATOR: &str = "target/release/generator";
const SEND_READINGS: &str = "sensorpipe.v1.IngestService/SendReadings";
/// How long the generator lines that run long (or until Ctrl-C) run before they are stopped.
const BRIEF_RUN: Duration = Duration::from_secs(2);

// ------------------------------------------------------------------------------------ README

/// One example: a command as `sh` reads it, and the `# ...` lines after it (what it prints).
#[derive(Debug, Clone)]
struct Example {
    /// The README line it starts on.
    line: usize,
    command: String,
    expected: Vec<String>,
}

impl std::fmt::Display for Example {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "README.md:{}: {}", self.line, self.command)
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

    /// What the README shows it prints, as JSON.
    fn expected_json(&self) -> Result<Value, String> {
        if self.expected.is_empty() {
            return Err(format!(
                "{self}: the README shows no output (`# ...`) for it"
            ));
        }
        let text = self.expected_text();
        serde_json::from_str(&text)
            .map_err(|e| format!("{self}: the output the README shows is not JSON ({e}): {text}"))
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

/// The examples of the README's "Sending readings" section, in order.
fn section_examples(readme: &str) -> Vec<Example> {
    let start = readme
        .lines()
        .position(|l| l.trim_end() == SECTION)
        .unwrap_or_else(|| panic!("README.md has no `{SECTION}` section"));
    let mut examples: Vec<Example> = Vec::new();
    // The command being read: its first line and its text so far.
    let mut pending: Option<(usize, String)> = None;
    for readme::Line {
        number,
        text: line,
        place,
    } in readme::lines(readme).skip(start + 1)
    {
        if place == Place::Prose && line.starts_with("## ") {
            break;
        }
        if let Some((first, mut text)) = pending.take() {
            assert!(
                place != Place::Fence,
                "README.md:{first}: the code block ends inside a command"
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
                panic!("README.md:{number}: output shown before any command: {line}")
            });
            example.expected.push(line.trim().to_owned());
            continue;
        }
        if open_at_end(line) == Open::No {
            examples.push(Example {
                line: number,
                command: line.to_owned(),
                expected: Vec::new(),
            });
        } else {
            pending = Some((number, line.to_owned()));
        }
    }
    assert!(pending.is_none(), "README.md: a command never ends");
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

/// The grpcurl example printed `out`: it must be what the README shows, and mean what the README
/// says. Returns the answer.
fn check_send_readings(example: &Example, out: &str) -> Result<Value, String> {
    let answer: Value = serde_json::from_str(out)
        .map_err(|e| format!("{example}: grpcurl did not print JSON ({e}):\n{out}"))?;
    let shown = example.expected_json()?;
    if answer != shown {
        return Err(format!(
            "{example}: grpcurl printed\n{answer}\nbut the README shows\n{shown}"
        ));
    }
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

/// The curl example printed `out`: it must be what the README shows, one reading accepted and
/// nothing rejected. Returns the answer.
fn check_post_measurements(example: &Example, out: &str) -> Result<Value, String> {
    let answer: Value = serde_json::from_str(out)
        .map_err(|e| format!("{example}: curl did not print JSON ({e}):\n{out}"))?;
    let shown = example.expected_json()?;
    if answer != shown {
        return Err(format!(
            "{example}: curl printed\n{out}\nbut the README shows\n{shown}"
        ));
    }
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
        return Err(format!("README.md `{SECTION}` shows no `{GENERATOR}` line"));
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
        help.ok_or_else(|| format!("README.md `{SECTION}` shows no `{GENERATOR} --help`"))?;
    for flag in &used {
        if !help.contains(flag.as_str()) {
            return Err(format!(
                "`{GENERATOR} --help` does not list {flag}, which the README uses:\n{help}"
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
            .ok_or_else(|| format!("--{long} has no env var, but the README says each has"))?;
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

/// Runs the example with `sh -c` against `addr` (and `grpcurl` for grpcurl); it must succeed.
/// Returns its stdout.
async fn run_shell(example: &Example, addr: SocketAddr, grpcurl: &Path) -> String {
    let text = readme::local_command(&example.command, README_ADDR, addr, grpcurl);
    readme::stdout(readme::output(readme::sh(&text), example).await, example)
}

/// The generator line as the README runs it, against the test ingest (`INGEST_URL` would do the
/// same), giving up within 30 s rather than 60 if ingest is gone.
fn generator_config(example: &Example, ingest_url: &str) -> generator::Config {
    let args: Vec<String> = arguments(example)
        .iter()
        .map(|a| a.replace(README_ADDR, ingest_url.trim_start_matches("http://")))
        .collect();
    let base = [
        "generator",
        "--ingest-url",
        ingest_url,
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

#[tokio::test(flavor = "multi_thread")]
async fn every_sending_readings_example_in_the_readme_does_what_it_says() {
    let readme = read_readme();
    let examples = section_examples(&readme);
    for example in &examples {
        assert!(
            example.is_grpcurl() || example.is_curl() || example.is_generator(),
            "{example}: an example this test does not know how to run; teach it"
        );
    }
    let find = |what: &str, test: fn(&Example) -> bool| -> Example {
        let found: Vec<&Example> = examples.iter().filter(|e| test(e)).collect();
        assert_eq!(
            found.len(),
            1,
            "README.md `{SECTION}` must show one {what} example: {found:#?}"
        );
        found[0].clone()
    };
    let send = find("grpcurl SendReadings", |e| {
        e.is_grpcurl() && e.command.contains(SEND_READINGS)
    });
    let post = find("curl POST /measurements", |e| {
        e.is_curl() && e.command.contains("/measurements")
    });

    // The generator lines first: they need nothing running.
    let generator_lines = check_generator_lines(&examples).unwrap_or_else(|e| panic!("{e}"));

    // What the grpcurl and curl examples send, and to where.
    let send_args = arguments(&send);
    let (_, positional) = split_args(&send_args, &["-d"]);
    assert_eq!(
        positional,
        [README_ADDR, SEND_READINGS],
        "{send}: address and method"
    );
    let send_data = data(&send, &send_args);
    let send_readings = sent_readings(&send, &send_data);
    let post_args = arguments(&post);
    let (values, positional) = split_args(&post_args, &["-d", "-H", "-X"]);
    assert_eq!(
        positional,
        [format!("http://{README_ADDR}/measurements")],
        "{post}: URL"
    );
    assert_eq!(value_of(&values, "-X"), Some("POST"), "{post}: method");
    let post_readings = sent_readings(&post, &data(&post, &post_args));

    let grpcurl = grpcurl();
    let (brokers, topic) = testkit::fresh_topic("readme-ingest", 3).await;
    // Default rules, as a reader's ingest has them.
    let ingest = start_ingest(&brokers, &topic, &[]).await;

    eprintln!("running {send}");
    let out = run_shell(&send, ingest.addr, &grpcurl).await;
    let answer = check_send_readings(&send, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        send_data["sequence"].as_u64(),
        Some(1),
        "{send}: the ack's sequence is the batch's"
    );
    let mut accepted = accepted_readings(&send_readings, &answer);

    eprintln!("running {post}");
    let out = run_shell(&post, ingest.addr, &grpcurl).await;
    let answer = check_post_measurements(&post, &out).unwrap_or_else(|e| panic!("{e}"));
    accepted.extend(accepted_readings(&post_readings, &answer));

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
        "README.md `{SECTION}` must show one generator line with --bad-rate"
    );
    let (example, _) = bad[0];
    eprintln!("running {example}");
    let config = generator_config(example, &ingest.url(""));
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
        let config = generator_config(example, &ingest.url(""));
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

/// The README with `from` replaced by `to` (once, and it must be there).
fn broken_readme(from: &str, to: &str) -> String {
    let readme = read_readme();
    assert!(readme.contains(from), "README.md no longer has {from:?}");
    readme.replacen(from, to, 1)
}

#[test]
fn the_examples_are_read_as_sh_reads_them() {
    let readme = read_readme();
    let examples = section_examples(&readme);
    let send = examples
        .iter()
        .find(|e| e.command.contains(SEND_READINGS))
        .expect("the SendReadings example");
    assert!(send.is_grpcurl(), "{send}");
    assert!(!send.command.contains('\\'), "`\\` continuations joined");
    assert!(send.expected_json().is_ok(), "{send}: {:?}", send.expected);
    assert!(examples.iter().all(|e| !e.command.starts_with('#')));

    let text = "## Sending readings\n\n```bash\nx 'a\n# b' \\\n  c # d\n# out \\\ny\n```\n\n## Next\n```sh\nz\n```\n";
    let examples = section_examples(text);
    assert_eq!(examples.len(), 2, "{examples:#?}");
    assert_eq!(examples[0].command, "x 'a\n# b'   c # d");
    assert_eq!(examples[0].expected, ["# out \\"]);
    assert_eq!(examples[1].command, "y");
}

#[test]
fn a_generator_flag_that_no_longer_exists_fails() {
    let readme = broken_readme(
        "--count 10000 --bad-rate 0.05",
        "--count 10000 --bad-ratio 0.05",
    );
    let error = check_generator_lines(&section_examples(&readme)).unwrap_err();
    assert!(error.contains("--bad-ratio"), "{error}");
    assert!(
        check_generator_lines(&section_examples(&broken_readme(
            "--rate 0 ",
            "--rate zero "
        )))
        .is_err()
    );
    let readme = broken_readme(
        "target/release/generator --help ",
        "target/release/generator --sensors 1 ",
    );
    assert!(check_generator_lines(&section_examples(&readme)).is_err());
}

/// What grpcurl prints for the README's batch (as the test run sees it).
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

#[test]
fn an_answer_other_than_the_readme_shows_fails() {
    let send = |readme: &str| {
        section_examples(readme)
            .into_iter()
            .find(|e| e.command.contains(SEND_READINGS))
            .unwrap()
    };
    let post = |readme: &str| {
        section_examples(readme)
            .into_iter()
            .find(|e| e.is_curl())
            .unwrap()
    };
    let readme = read_readme();
    assert!(check_send_readings(&send(&readme), GRPCURL_ANSWER).is_ok());
    assert!(check_post_measurements(&post(&readme), r#"{"accepted":1,"rejects":[]}"#).is_ok());

    let shown_wrong = broken_readme(r#""accepted": 1, "rejects""#, r#""accepted": 2, "rejects""#);
    assert!(check_send_readings(&send(&shown_wrong), GRPCURL_ANSWER).is_err());
    let shown_wrong = broken_readme("\"field\": \"celsius\"", "\"field\": \"readings\"");
    assert!(check_send_readings(&send(&shown_wrong), GRPCURL_ANSWER).is_err());
    // The README and the answer agree, but not on what the README says it means.
    let both_wrong = GRPCURL_ANSWER.replace("\"index\": 1", "\"index\": 0");
    let readme_both = broken_readme("\"index\": 1", "\"index\": 0");
    assert!(check_send_readings(&send(&readme_both), &both_wrong).is_err());
    let shown_wrong = broken_readme(r#"{"accepted":1,"rejects":[]}"#, r#"{"accepted":1}"#);
    assert!(
        check_post_measurements(&post(&shown_wrong), r#"{"accepted":1,"rejects":[]}"#).is_err()
    );
    assert!(check_post_measurements(&post(&readme), r#"{"accepted":0,"rejects":[]}"#).is_err());
}
