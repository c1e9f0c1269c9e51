//! The keys a config file may use: each long flag, spelled as the flag
//! (`batch-size`) or in snake case (`batch_size`), and the nearest of them
//! for a key that is none.

use std::collections::HashMap;

use clap::Arg;

/// Flags a config file cannot set: they say what to do, not how.
pub(super) const NOT_IN_FILE: [&str; 6] = [
    "config",
    "check-config",
    "print-config",
    "generate",
    "help",
    "version",
];

/// Least similarity (Jaro, as clap uses for flags) for a key to be
/// suggested.
const SUGGEST_ABOVE: f64 = 0.7;

/// The flags a config file may set.
pub(super) fn settable(command: &clap::Command) -> impl Iterator<Item = &Arg> {
    command.get_arguments().filter(|arg| {
        arg.get_long()
            .is_some_and(|long| !NOT_IN_FILE.contains(&long))
    })
}

/// The flag `key` names, by its long name: `batch_size` is `batch-size`.
pub(super) fn flag_of<'c>(command: &'c clap::Command, key: &str) -> Option<&'c Arg> {
    let long = key.replace('_', "-");
    settable(command).find(|arg| arg.get_long() == Some(long.as_str()))
}

/// Why `key` is no key, with the nearest known key when one is near.
pub(super) fn unknown(command: &clap::Command, key: &str) -> String {
    let wanted = key.replace('_', "-");
    let nearest = settable(command)
        .filter_map(Arg::get_long)
        .map(|long| (strsim::jaro(&wanted, long), long))
        .filter(|(similarity, _)| *similarity > SUGGEST_ABOVE)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match nearest {
        Some((_, long)) => format!("unknown key '{key}'; did you mean '{long}'?"),
        None => format!("unknown key '{key}' (keys are the long flags, like batch-size)"),
    }
}

/// Refuses a file that sets one flag under two spellings
/// (`batch-size` and `batch_size`): which one wins would be arbitrary.
pub(super) struct Spellings<'k>(HashMap<&'k str, &'k str>);

impl<'k> Spellings<'k> {
    pub(super) fn new() -> Self {
        Spellings(HashMap::new())
    }

    /// Records `key` as a spelling of `long`; the earlier spelling when
    /// the flag already had one.
    pub(super) fn add(&mut self, long: &'k str, key: &'k str) -> Result<(), &'k str> {
        match self.0.insert(long, key) {
            Some(earlier) if earlier != key => Err(earlier),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn snake_case_names_the_same_flag() {
        let command = crate::cli::Args::command();
        let flag = flag_of(&command, "batch_size").unwrap();
        assert_eq!(flag.get_long(), Some("batch-size"));
        assert_eq!(
            flag_of(&command, "batch-size").unwrap().get_long(),
            Some("batch-size")
        );
        assert!(flag_of(&command, "check_config").is_none());
        assert!(flag_of(&command, "print-config").is_none());
    }

    #[test]
    fn an_unknown_key_gets_the_nearest_one() {
        let command = crate::cli::Args::command();
        assert_eq!(
            unknown(&command, "sinks"),
            "unknown key 'sinks'; did you mean 'sink'?"
        );
        assert_eq!(
            unknown(&command, "bach_size"),
            "unknown key 'bach_size'; did you mean 'batch-size'?"
        );
        assert_eq!(
            unknown(&command, "zzz"),
            "unknown key 'zzz' (keys are the long flags, like batch-size)"
        );
    }

    #[test]
    fn two_spellings_of_one_flag_are_refused() {
        let mut spellings = Spellings::new();
        assert_eq!(spellings.add("batch-size", "batch_size"), Ok(()));
        assert_eq!(spellings.add("sink", "sink"), Ok(()));
        assert_eq!(spellings.add("batch-size", "batch-size"), Err("batch_size"));
    }
}
