//! The generator's command line, run as a user runs it. (Also what makes `cargo test` build the
//! `tickerplex-load` binary in the same build as the tests, so `scripts/test` needs no second
//! build of it for the benchmark smoke run.)

use std::process::Command;

fn load(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tickerplex-load"))
        .args(args)
        .output()
        .expect("the tickerplex-load binary runs")
}

/// `--help` names the `suite` command the scripts call, and exits 0.
#[test]
fn help_lists_the_suite_command() {
    let output = load(&["--help"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("suite"));
}

/// An unknown option is refused with a non-zero exit and a message, not a panic or a run.
#[test]
fn an_unknown_option_is_refused() {
    let output = load(&["suite", "--no-such-option"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--no-such-option"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
