//! The `--name=value` flags of an instruction, checked against the ones it accepts (BuildKit's
//! `BFlags`): unknown, repeated or malformed flags are errors.

use crate::error::ErrorKind;

/// What a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `--link`, `--link=true`, `--link=false`.
    Bool,
    /// `--chown=x`, at most once.
    String,
    /// `--mount=x`, any number of times.
    Strings,
}

#[derive(Debug)]
enum Value {
    Bool(bool),
    String(String),
    Strings(Vec<String>),
}

/// The flags given, by name.
#[derive(Debug, Default)]
pub(super) struct Flags(Vec<(&'static str, Value)>);

impl Flags {
    /// Checks `given` against `accepted`.
    pub(super) fn parse(
        given: &[String],
        accepted: &[(&'static str, Kind)],
    ) -> Result<Flags, ErrorKind> {
        let mut flags = Flags::default();
        for arg in given {
            if arg == "--" {
                break;
            }
            let Some(spec) = arg.strip_prefix("--") else {
                return Err(ErrorKind::NotAFlag(arg.clone()));
            };
            let (name, value) = match spec.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (spec, None),
            };
            let flag = format!("--{name}");
            let Some(&(name, kind)) = accepted.iter().find(|(n, _)| *n == name) else {
                return Err(ErrorKind::UnknownFlag(flag));
            };
            let previous = flags.0.iter_mut().find(|(n, _)| *n == name);
            match (kind, value, previous) {
                (Kind::Strings, Some(value), Some((_, Value::Strings(values)))) => {
                    values.push(value.to_string());
                }
                (_, _, Some(_)) => return Err(ErrorKind::DuplicateFlag(flag)),
                (Kind::Bool, None, None) => flags.0.push((name, Value::Bool(true))),
                (Kind::Bool, Some(value), None) => {
                    let value = match value.to_ascii_lowercase().as_str() {
                        "" => return Err(ErrorKind::FlagWithoutValue(flag)),
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(ErrorKind::FlagNotBoolean {
                                flag,
                                value: value.to_string(),
                            })
                        }
                    };
                    flags.0.push((name, Value::Bool(value)));
                }
                (Kind::String | Kind::Strings, None, _) => {
                    return Err(ErrorKind::FlagWithoutValue(flag))
                }
                (Kind::String, Some(value), None) => {
                    flags.0.push((name, Value::String(value.to_string())));
                }
                (Kind::Strings, Some(value), None) => {
                    flags
                        .0
                        .push((name, Value::Strings(vec![value.to_string()])));
                }
            }
        }
        Ok(flags)
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// A string flag's value, if given.
    pub(super) fn string(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(Value::String(value)) => Some(value.clone()),
            _ => None,
        }
    }

    /// A boolean flag's value, if given.
    pub(super) fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(value)) => Some(*value),
            _ => None,
        }
    }

    /// A repeatable flag's values, in order.
    pub(super) fn strings(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Strings(values)) => values.clone(),
            _ => Vec::new(),
        }
    }
}
