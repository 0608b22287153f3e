//! Turns the guest console into a verdict: libtest results per binary, the
//! guest's markers, and how the guest ended.

use crate::guest::{Marker, MARK};

/// How the QEMU process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestEnd {
    /// QEMU exited by itself with this status text (e.g. after `poweroff -f`).
    Exited { success: bool, status: String },
    /// The time limit ran out and QEMU was killed.
    TimedOut { seconds: u64 },
}

/// Counts and failures parsed from a lab run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed, plus one for each binary or guest failure.
    pub failed: u64,
    /// Tests libtest reported as ignored (none when `--include-ignored` works).
    pub skipped: u64,
    /// What failed, one entry each: test names, or a sentence for a binary or guest.
    pub failures: Vec<String>,
    /// The guest's own verdict, once its result marker was seen.
    pub guest_result: Option<bool>,
    /// Why the guest gave up, if it said so.
    pub aborted: Option<String>,
    current: Option<Binary>,
}

/// The state of the test binary running now.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Binary {
    name: String,
    saw_result: bool,
    failed_lines: Vec<String>,
    ok_lines: u64,
    failures_block: Option<Vec<String>>,
    last_started: Option<String>,
}

impl Report {
    /// A report with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one console line (a trailing `\r` is fine).
    pub fn line(&mut self, line: &str) {
        let line = line.trim_end_matches(['\r', '\n']);
        // A binary that dies mid-line leaves the shell's marker glued to its output.
        if let Some(pos) = line.find(MARK) {
            if let Some(marker) = Marker::parse(&line[pos..]) {
                if pos > 0 {
                    self.text(&line[..pos]);
                }
                self.marker(marker);
                return;
            }
        }
        self.text(line);
    }

    fn text(&mut self, line: &str) {
        let Some(bin) = self.current.as_mut() else {
            return;
        };
        if let Some(rest) = line.strip_prefix("test result: ") {
            bin.saw_result = true;
            let (p, f, i) = parse_result_counts(rest);
            self.passed += p;
            self.failed += f;
            self.skipped += i;
            let mut names = bin.failures_block.take().unwrap_or_default();
            for name in bin.failed_lines.drain(..) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            // Counts come from libtest; names fill in what they can.
            self.failures
                .extend(names.into_iter().map(|n| format!("{n} ({})", bin.name)));
        } else if line == "failures:" {
            // libtest prints this twice; the last block before the result lists the names.
            bin.failures_block = Some(Vec::new());
        } else if let (Some(block), Some(name)) =
            (bin.failures_block.as_mut(), line.strip_prefix("    "))
        {
            if !name.is_empty() && !name.contains(char::is_whitespace) {
                block.push(name.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, outcome)) = rest.split_once(" ... ") {
                bin.last_started = Some(name.to_string());
                if outcome.trim_end() == "ok" {
                    bin.ok_lines += 1;
                }
                if outcome.trim_end().ends_with("FAILED")
                    && !bin.failed_lines.iter().any(|n| n == name)
                {
                    bin.failed_lines.push(name.to_string());
                }
            }
        }
    }

    fn marker(&mut self, marker: Marker) {
        match marker {
            Marker::Aborted(why) => self.aborted = Some(why),
            Marker::Env(_) => {}
            Marker::Begin(name) => {
                self.close_unfinished("the guest started the next binary");
                self.current = Some(Binary {
                    name,
                    ..Binary::default()
                });
            }
            Marker::End { name, rc } => {
                if let Some(bin) = self.current.take() {
                    if !bin.saw_result {
                        // No libtest totals: count the passes it printed before it died.
                        self.passed += bin.ok_lines;
                        self.failed += 1;
                        self.failures.push(format!(
                            "{name}: exited with status {rc} without a libtest result{}",
                            running(&bin)
                        ));
                    } else if rc != 0
                        && !self
                            .failures
                            .iter()
                            .any(|f| f.ends_with(&format!("({name})")))
                    {
                        self.failed += 1;
                        self.failures.push(format!(
                            "{name}: exited with status {rc} though no test failed"
                        ));
                    }
                }
            }
            Marker::Dirty { name, detail } => {
                self.failed += 1;
                self.failures.push(format!(
                    "{name}: left the lab changed (- before, + after): {}",
                    detail.trim()
                ));
            }
            Marker::Result(ok) => self.guest_result = Some(ok),
        }
    }

    fn close_unfinished(&mut self, why: &str) {
        if let Some(bin) = self.current.take() {
            self.passed += bin.ok_lines;
            self.failed += 1;
            self.failures.push(format!(
                "{}: never finished ({why}){}",
                bin.name,
                running(&bin)
            ));
        }
    }

    /// Records how the guest ended and closes the report: a binary cut off, a
    /// missing result marker, a failed setup or a time-out each count as one failure.
    pub fn finish(&mut self, end: &GuestEnd) {
        let how = match end {
            GuestEnd::TimedOut { seconds } => {
                format!("the time limit of {seconds} s ran out and the guest was stopped")
            }
            GuestEnd::Exited { status, .. } => format!("qemu exited ({status})"),
        };
        self.close_unfinished(&how);
        if let Some(why) = self.aborted.clone() {
            self.failed += 1;
            self.failures.push(format!("guest gave up: {why}"));
        } else if self.guest_result.is_none() {
            self.failed += 1;
            self.failures
                .push(format!("guest: never printed its result marker; {how}"));
        } else if self.guest_result == Some(false) && self.failed == 0 {
            self.failed += 1;
            self.failures
                .push("guest: reported failure without a failing test".to_string());
        }
    }

    /// True when everything ran and nothing failed.
    pub fn success(&self) -> bool {
        self.failed == 0 && self.guest_result == Some(true)
    }

    /// Adds `other`'s counts and failures to this one's.
    pub fn add(&mut self, other: &Report) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.failures.extend(other.failures.iter().cloned());
    }

    /// The closing summary line, exactly `lab: N passed, N failed, N skipped`.
    pub fn summary(&self) -> String {
        format!(
            "lab: {} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

fn running(bin: &Binary) -> String {
    match &bin.last_started {
        Some(test) => format!("; last test started: {test}"),
        None => String::new(),
    }
}

/// Parses `ok. 3 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out; ...`
/// into (passed, failed, ignored).
pub fn parse_result_counts(rest: &str) -> (u64, u64, u64) {
    let mut counts = (0, 0, 0);
    let rest = rest.split_once(". ").map_or(rest, |(_, r)| r);
    for part in rest.split(';') {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => counts.0 = n,
            "failed" => counts.1 = n,
            "ignored" => counts.2 = n,
            _ => {}
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited() -> GuestEnd {
        GuestEnd::Exited {
            success: true,
            status: "exit status: 0".into(),
        }
    }

    fn feed(text: &str) -> Report {
        let mut r = Report::new();
        for line in text.lines() {
            r.line(line);
        }
        r
    }

    const PASSING: &str = "\
@@lab env NETPLUMB_LAB_PFS=eth0,eth1 NETPLUMB_LAB_VMNIC=eth2
@@lab begin netplumb_vf-1
\r
running 3 tests\r
test sysfs::tests::reads ... ok\r
test lab_vf_moves ... ok
test other ... ignored, needs hardware
\r
test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 4 filtered out; finished in 0.20s\r
@@lab end netplumb_vf-1 rc=0
@@lab result passed
";

    #[test]
    fn a_passing_run_counts_and_succeeds() {
        let mut r = feed(PASSING);
        r.finish(&exited());
        assert_eq!((r.passed, r.failed, r.skipped), (2, 0, 1));
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        assert!(r.success());
        assert_eq!(r.summary(), "lab: 2 passed, 0 failed, 1 skipped");
    }

    #[test]
    fn failing_tests_are_named_once_each() {
        let text = "\
@@lab begin lab_rig-9
running 3 tests
test lab_a ... ok
test lab_b ... FAILED
test lab_c ... some stderr noise
FAILED

failures:

---- lab_b stdout ----
    indented output that is not a name
thread 'lab_b' panicked at x.rs:1:1:
boom

failures:
    lab_b
    lab_c

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s
@@lab end lab_rig-9 rc=101
@@lab result failed
";
        let mut r = feed(text);
        r.finish(&exited());
        assert_eq!((r.passed, r.failed), (1, 2));
        assert_eq!(r.failures, ["lab_b (lab_rig-9)", "lab_c (lab_rig-9)"]);
        assert!(!r.success());
    }

    #[test]
    fn a_binary_that_dies_without_a_result_is_a_failure() {
        let text = "\
@@lab begin netplumb_netns-3
running 2 tests
test a ... ok
test b ... @@lab end netplumb_netns-3 rc=139
@@lab result failed
";
        let mut r = feed(text);
        r.finish(&exited());
        assert_eq!((r.passed, r.failed), (1, 1));
        assert!(r.failures[0].contains("exited with status 139 without a libtest result"));
        assert!(
            r.failures[0].contains("last test started: b"),
            "{:?}",
            r.failures
        );
    }

    #[test]
    fn a_timeout_names_the_binary_and_test_that_hung() {
        let text = "@@lab begin lab_rig-9\nrunning 2 tests\ntest lab_a ... ok\ntest lab_hangs ... ";
        let mut r = feed(text);
        r.finish(&GuestEnd::TimedOut { seconds: 1200 });
        assert!(!r.success());
        assert_eq!((r.passed, r.failed), (1, 2), "{:?}", r.failures);
        assert!(
            r.failures[0].contains("lab_rig-9: never finished (the time limit of 1200 s ran out")
        );
        assert!(r.failures[0].contains("last test started: lab_hangs"));
        assert!(r.failures[1].contains("never printed its result marker"));
    }

    #[test]
    fn a_guest_that_dies_before_the_marker_fails() {
        let mut r = feed("Kernel panic - not syncing: Attempted to kill init!\n");
        r.finish(&GuestEnd::Exited {
            success: true,
            status: "exit status: 0".into(),
        });
        assert_eq!(r.summary(), "lab: 0 passed, 1 failed, 0 skipped");
        assert!(r.failures[0].contains("never printed its result marker"));
    }

    #[test]
    fn an_abort_is_reported_with_its_reason() {
        let mut r = feed("@@lab abort: insmod igb\n");
        r.finish(&exited());
        assert_eq!(r.failures, ["guest gave up: insmod igb"]);
    }

    #[test]
    fn a_binary_that_leaves_the_lab_changed_is_named() {
        let text = "\
@@lab begin lab_attach-1
test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s
@@lab end lab_attach-1 rc=0
@@lab dirty lab_attach-1: +rig-a-7 -eth7 
@@lab result failed
";
        let mut r = feed(text);
        r.finish(&exited());
        assert_eq!((r.passed, r.failed), (3, 1));
        assert_eq!(
            r.failures,
            ["lab_attach-1: left the lab changed (- before, + after): +rig-a-7 -eth7"]
        );
    }

    #[test]
    fn lines_outside_a_binary_are_not_counted() {
        let r = feed("test result: ok. 5 passed; 0 failed; 0 ignored\n");
        assert_eq!(r.passed, 0);
    }

    #[test]
    fn result_counts_parse() {
        assert_eq!(
            parse_result_counts("FAILED. 10 passed; 2 failed; 3 ignored; 0 measured; 1 filtered out; finished in 0.01s"),
            (10, 2, 3)
        );
        assert_eq!(parse_result_counts("garbage"), (0, 0, 0));
    }
}
