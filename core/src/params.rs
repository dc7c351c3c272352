//! Named, typed parameters for strategies and workloads, with errors that list what is valid.

use std::collections::BTreeMap;

/// The type of a parameter's value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// A non-negative integer.
    U64,
    /// A signed integer.
    I64,
    /// A floating-point number.
    F64,
    /// `true` or `false`.
    Bool,
    /// Free text (its meaning is documented by the owner).
    Text,
}

impl ParamType {
    fn name(self) -> &'static str {
        match self {
            ParamType::U64 => "a non-negative integer",
            ParamType::I64 => "an integer",
            ParamType::F64 => "a number",
            ParamType::Bool => "true or false",
            ParamType::Text => "text",
        }
    }
}

/// Declares one parameter: its name, type, default and meaning.
#[derive(Copy, Clone, Debug)]
pub struct ParamSpec {
    /// The key used in `--param key=value`.
    pub name: &'static str,
    /// The value's type.
    pub ty: ParamType,
    /// The default, as it would be written on the command line.
    pub default: &'static str,
    /// One line saying what it means.
    pub help: &'static str,
}

/// A parameter problem, reported to the user with what is valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A key that the owner does not declare.
    #[error("unknown parameter '{key}' for {owner}; valid parameters: {valid}")]
    Unknown {
        /// The strategy or workload.
        owner: String,
        /// The key given.
        key: String,
        /// The valid keys, comma-separated.
        valid: String,
    },
    /// A value that does not parse as the declared type.
    #[error("bad value '{value}' for parameter '{key}' of {owner}: expected {expected}")]
    BadType {
        /// The strategy or workload.
        owner: String,
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// The expected type.
        expected: &'static str,
    },
    /// A value of the right type outside the valid range.
    #[error("bad value for parameter '{key}' of {owner}: {reason}")]
    OutOfRange {
        /// The strategy or workload.
        owner: String,
        /// The key.
        key: String,
        /// What is wrong and what is valid.
        reason: String,
    },
    /// A `key=value` argument without `=`.
    #[error("malformed parameter '{0}': expected key=value")]
    Malformed(String),
}

/// Parses `key=value` strings into pairs.
pub fn parse_pairs<S: AsRef<str>>(args: &[S]) -> Result<Vec<(String, String)>, ParamError> {
    args.iter()
        .map(|a| {
            let a = a.as_ref();
            match a.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    Ok((k.trim().to_string(), v.trim().to_string()))
                }
                _ => Err(ParamError::Malformed(a.to_string())),
            }
        })
        .collect()
}

/// Parameters resolved against a list of [`ParamSpec`]s: every declared key has a value (given
/// or default), every given key is declared, and every value parses.
#[derive(Clone, Debug)]
pub struct Params {
    owner: String,
    values: BTreeMap<&'static str, String>,
    specs: Vec<ParamSpec>,
}

impl Params {
    /// Resolves `given` pairs against `specs` (later pairs override earlier ones).
    pub fn resolve(
        owner: &str,
        specs: &[ParamSpec],
        given: &[(String, String)],
    ) -> Result<Params, ParamError> {
        let mut values: BTreeMap<&'static str, String> = specs
            .iter()
            .map(|s| (s.name, s.default.to_string()))
            .collect();
        for (k, v) in given {
            let Some(spec) = specs.iter().find(|s| s.name == k) else {
                let valid = if specs.is_empty() {
                    "(none)".to_string()
                } else {
                    specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                };
                return Err(ParamError::Unknown {
                    owner: owner.to_string(),
                    key: k.clone(),
                    valid,
                });
            };
            values.insert(spec.name, v.clone());
        }
        let p = Params {
            owner: owner.to_string(),
            values,
            specs: specs.to_vec(),
        };
        for s in specs {
            p.check_type(s)?;
        }
        Ok(p)
    }

    fn check_type(&self, s: &ParamSpec) -> Result<(), ParamError> {
        let v = &self.values[s.name];
        let ok = match s.ty {
            ParamType::U64 => v.parse::<u64>().is_ok(),
            ParamType::I64 => v.parse::<i64>().is_ok(),
            ParamType::F64 => v.parse::<f64>().is_ok_and(|x| x.is_finite()),
            ParamType::Bool => v == "true" || v == "false",
            ParamType::Text => true,
        };
        if ok {
            Ok(())
        } else {
            Err(ParamError::BadType {
                owner: self.owner.clone(),
                key: s.name.to_string(),
                value: v.clone(),
                expected: s.ty.name(),
            })
        }
    }

    fn raw(&self, key: &str) -> &str {
        match self.values.get(key) {
            Some(v) => v,
            None => panic!("parameter '{key}' is not declared by {}", self.owner),
        }
    }

    /// A declared `U64` parameter. Panics if `key` was not declared (a programming error).
    pub fn u64(&self, key: &str) -> u64 {
        self.raw(key).parse().unwrap_or(0)
    }
    /// A declared `I64` parameter.
    pub fn i64(&self, key: &str) -> i64 {
        self.raw(key).parse().unwrap_or(0)
    }
    /// A declared `F64` parameter.
    pub fn f64(&self, key: &str) -> f64 {
        self.raw(key).parse().unwrap_or(0.0)
    }
    /// A declared `Bool` parameter.
    pub fn bool(&self, key: &str) -> bool {
        self.raw(key) == "true"
    }
    /// A declared `Text` parameter.
    pub fn text(&self, key: &str) -> &str {
        self.raw(key)
    }

    /// An error for `key` being outside its valid range.
    pub fn range_error(&self, key: &str, reason: impl Into<String>) -> ParamError {
        ParamError::OutOfRange {
            owner: self.owner.clone(),
            key: key.to_string(),
            reason: reason.into(),
        }
    }

    /// A `U64` parameter that must lie in `lo..=hi`.
    pub fn u64_in(&self, key: &str, lo: u64, hi: u64) -> Result<u64, ParamError> {
        let v = self.u64(key);
        if v < lo || v > hi {
            Err(self.range_error(key, format!("{v} is outside {lo}..={hi}")))
        } else {
            Ok(v)
        }
    }

    /// All values as `(key, value)` pairs in declaration order: for provenance.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.specs
            .iter()
            .map(|s| (s.name.to_string(), self.values[s.name].clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const SPECS: &[ParamSpec] = &[ParamSpec {
        name: "count",
        ty: ParamType::U64,
        default: "10",
        help: "how many",
    }];

    #[test]
    fn defaults_and_overrides() {
        let p = Params::resolve("w", SPECS, &[]).unwrap();
        assert_eq!(p.u64("count"), 10);
        let p = Params::resolve("w", SPECS, &[("count".into(), "3".into())]).unwrap();
        assert_eq!(p.u64("count"), 3);
    }

    #[test]
    fn errors_list_valid_keys() {
        let e = Params::resolve("w", SPECS, &[("cuont".into(), "3".into())]).unwrap_err();
        assert!(e.to_string().contains("valid parameters: count"), "{e}");
        let e = Params::resolve("w", SPECS, &[("count".into(), "-3".into())]).unwrap_err();
        assert!(e.to_string().contains("non-negative integer"), "{e}");
        assert!(parse_pairs(&["nokey"]).is_err());
    }
}
