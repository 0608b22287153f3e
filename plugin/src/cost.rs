//! What one plugin process cost the kernel: netlink round trips and sysfs
//! reads, counted by the libraries for the whole process and logged at
//! debug level when ADD or DEL ends (`logLevel: debug`), so that a
//! benchmark or a test can read them from the log of a real invocation.

use std::fmt;

use netplumb_vf::Sysfs;

/// Requests a process made so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cost {
    /// Netlink round trips of every client ([`netplumb_netns::round_trips_in_process`]).
    pub netlink_round_trips: u64,
    /// sysfs calls other than writes ([`Sysfs::reads_in_process`]).
    pub sysfs_reads: u64,
}

/// What the log line says before the figures.
const PREFIX: &str = "cost: ";

impl Cost {
    /// What this process has cost so far.
    pub fn so_far() -> Cost {
        Cost {
            netlink_round_trips: netplumb_netns::round_trips_in_process(),
            sysfs_reads: Sysfs::reads_in_process(),
        }
    }

    /// The log line's message for `command` (`ADD`, `DEL`).
    pub fn message(&self, command: &str) -> String {
        format!("{command} {PREFIX}{self}")
    }

    /// The cost `command` logged last in `log` (a plugin's log file), if
    /// it logged one.
    pub fn from_log(log: &str, command: &str) -> Option<Cost> {
        let marker = format!(" {command} {PREFIX}");
        log.lines().rev().find_map(|line| {
            let (_, figures) = line.split_once(&marker)?;
            figures.parse().ok()
        })
    }
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} netlink round trips, {} sysfs reads",
            self.netlink_round_trips, self.sysfs_reads
        )
    }
}

impl std::str::FromStr for Cost {
    type Err = ();

    /// Reads what [`Display`](fmt::Display) writes.
    fn from_str(s: &str) -> Result<Cost, ()> {
        let (trips, reads) = s.trim().split_once(", ").ok_or(())?;
        let trips = trips.strip_suffix(" netlink round trips").ok_or(())?;
        let reads = reads.strip_suffix(" sysfs reads").ok_or(())?;
        Ok(Cost {
            netlink_round_trips: trips.parse().map_err(drop)?,
            sysfs_reads: reads.parse().map_err(drop)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_line_reads_back() {
        let cost = Cost {
            netlink_round_trips: 12,
            sysfs_reads: 34,
        };
        let log = format!(
            "2026-01-01T00:00:00Z info containerID=a ifname=net1 ADD done\n\
             2026-01-01T00:00:00Z debug containerID=a ifname=net1 {}\n\
             2026-01-01T00:00:01Z debug containerID=a ifname=net1 {}\n",
            cost.message("ADD"),
            Cost::default().message("DEL"),
        );
        assert_eq!(Cost::from_log(&log, "ADD"), Some(cost));
        assert_eq!(Cost::from_log(&log, "DEL"), Some(Cost::default()));
        assert_eq!(Cost::from_log(&log, "CHECK"), None);
        assert_eq!("1 netlink round trips".parse::<Cost>(), Err(()));
    }

    #[test]
    fn a_process_counts_what_it_reads() {
        let before = Cost::so_far();
        let _ = Sysfs::new("/nonexistent").inventory();
        assert!(Cost::so_far().sysfs_reads > before.sysfs_reads);
    }
}
