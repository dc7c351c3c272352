//! CPython release numbers and the ranges of releases a model stands for: what a strategy's
//! default configuration or a preset models ([`Versions`], on [`crate::strategy::StrategyInfo`]
//! and [`crate::strategy::Preset`]), and the version a user asks for ([`Requested`]).

use std::fmt;

/// One CPython release, `major.minor.patch` (for example 3.14.6).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// The major version (3).
    pub major: u16,
    /// The minor version (14).
    pub minor: u16,
    /// The patch level (6).
    pub patch: u16,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Patch releases `first..=last` of one minor version of CPython; `last` is `None` when the
/// range is open (every later patch release of that minor version, as far as the sources
/// cited for the model show).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VersionRange {
    /// The major version.
    pub major: u16,
    /// The minor version.
    pub minor: u16,
    /// The first patch release.
    pub first: u16,
    /// The last patch release, or `None` for every later one.
    pub last: Option<u16>,
}

impl VersionRange {
    /// Patch releases `first` and later of `major.minor`.
    pub const fn from(major: u16, minor: u16, first: u16) -> VersionRange {
        VersionRange {
            major,
            minor,
            first,
            last: None,
        }
    }

    /// Patch releases `first..=last` of `major.minor`.
    pub const fn between(major: u16, minor: u16, first: u16, last: u16) -> VersionRange {
        VersionRange {
            major,
            minor,
            first,
            last: Some(last),
        }
    }

    /// Whether `v` is one of the releases.
    pub fn contains(&self, v: Version) -> bool {
        v.major == self.major
            && v.minor == self.minor
            && v.patch >= self.first
            && self.last.is_none_or(|l| v.patch <= l)
    }

    /// Whether the range is every release of its minor version (`3.13.0-3.13.x`).
    pub fn is_whole_minor(&self) -> bool {
        self.first == 0 && self.last.is_none()
    }

    /// Whether the range holds releases of `major.minor`.
    pub fn same_minor(&self, major: u16, minor: u16) -> bool {
        self.major == major && self.minor == minor
    }
}

impl fmt::Display for VersionRange {
    /// `3.14.0` (one release), `3.14.1-3.14.4`, or `3.14.5-3.14.x` (open).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ma, mi) = (self.major, self.minor);
        match self.last {
            Some(l) if l == self.first => write!(f, "{ma}.{mi}.{l}"),
            Some(l) => write!(f, "{ma}.{mi}.{}-{ma}.{mi}.{l}", self.first),
            None => write!(f, "{ma}.{mi}.{}-{ma}.{mi}.x", self.first),
        }
    }
}

/// Which CPython releases a strategy's default configuration or a preset stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Versions {
    /// No CPython release: a baseline, another collector, or a strategy whose default
    /// configuration is named by one of its presets instead.
    NotCPython,
    /// The collector these releases run out of the box: a version of the range resolves to it.
    Release(VersionRange),
    /// These releases with a setting changed (`gc.set_threshold`, `gc.disable()`): never what a
    /// version resolves to.
    Configured(VersionRange),
}

impl Versions {
    /// The range, whether the releases' own collector or a configuration of it.
    pub fn range(&self) -> Option<VersionRange> {
        match *self {
            Versions::NotCPython => None,
            Versions::Release(r) | Versions::Configured(r) => Some(r),
        }
    }

    /// The range if these are the releases' own collector ([`Versions::Release`]).
    pub fn release(&self) -> Option<VersionRange> {
        match *self {
            Versions::Release(r) => Some(r),
            _ => None,
        }
    }
}

impl fmt::Display for Versions {
    /// `CPython 3.13.0-3.13.x`, `CPython 3.11.0-3.11.x, configured`, or nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Versions::NotCPython => Ok(()),
            Versions::Release(r) => write!(f, "CPython {r}"),
            Versions::Configured(r) => write!(f, "CPython {r}, configured"),
        }
    }
}

/// A version as a user gives it: `3.14.6`, or `3.15` for a whole minor version.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Requested {
    /// The major version.
    pub major: u16,
    /// The minor version.
    pub minor: u16,
    /// The patch level, if given.
    pub patch: Option<u16>,
}

impl Requested {
    /// The release, if a patch level was given.
    pub fn version(&self) -> Option<Version> {
        self.patch.map(|patch| Version {
            major: self.major,
            minor: self.minor,
            patch,
        })
    }
}

impl fmt::Display for Requested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{p}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

/// Why a version string is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "'{given}' is not a CPython version: {why}; valid: MAJOR.MINOR.PATCH (3.14.6) or MAJOR.MINOR (3.15), digits only (no pre-release tags)"
)]
pub struct VersionSyntaxError {
    /// The text given.
    pub given: String,
    /// What is wrong with it.
    pub why: String,
}

impl std::str::FromStr for Requested {
    type Err = VersionSyntaxError;

    /// Parses `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, each a decimal number.
    fn from_str(s: &str) -> Result<Requested, VersionSyntaxError> {
        let err = |why: &str| VersionSyntaxError {
            given: s.to_string(),
            why: why.to_string(),
        };
        let parts: Vec<&str> = s.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(err("it needs two or three numbers separated by dots"));
        }
        let mut nums = Vec::with_capacity(3);
        for p in &parts {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(&format!("'{p}' is not a number")));
            }
            let n: u16 = p
                .parse()
                .map_err(|_| err(&format!("{p} is out of range")))?;
            nums.push(n);
        }
        Ok(Requested {
            major: nums[0],
            minor: nums[1],
            patch: nums.get(2).copied(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u16, minor: u16, patch: u16) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    #[test]
    fn ranges_contain_and_print() {
        let open = VersionRange::from(3, 14, 5);
        assert!(open.contains(v(3, 14, 5)) && open.contains(v(3, 14, 60)));
        assert!(!open.contains(v(3, 14, 4)) && !open.contains(v(3, 15, 5)));
        assert_eq!(open.to_string(), "3.14.5-3.14.x");
        let closed = VersionRange::between(3, 14, 1, 4);
        assert!(closed.contains(v(3, 14, 1)) && closed.contains(v(3, 14, 4)));
        assert!(!closed.contains(v(3, 14, 0)) && !closed.contains(v(3, 14, 5)));
        assert_eq!(closed.to_string(), "3.14.1-3.14.4");
        assert_eq!(VersionRange::between(3, 14, 0, 0).to_string(), "3.14.0");
        assert!(VersionRange::from(3, 13, 0).is_whole_minor());
        assert!(!open.is_whole_minor() && !closed.is_whole_minor());
        assert_eq!(
            Versions::Configured(VersionRange::from(3, 11, 0)).to_string(),
            "CPython 3.11.0-3.11.x, configured"
        );
        assert_eq!(Versions::NotCPython.to_string(), "");
    }

    #[test]
    fn versions_parse_or_say_why_not() {
        let r: Requested = "3.14.6".parse().unwrap();
        assert_eq!(r.version(), Some(v(3, 14, 6)));
        let r: Requested = "3.15".parse().unwrap();
        assert_eq!((r.major, r.minor, r.patch), (3, 15, None));
        assert_eq!(r.to_string(), "3.15");
        for bad in [
            "3", "3.14.6.1", "3.x", "3.15.0b1", "", "3..1", " 3.14", "3.99999",
        ] {
            let e = bad.parse::<Requested>().unwrap_err();
            assert_eq!(e.given, bad);
            assert!(e.to_string().contains("valid: MAJOR.MINOR.PATCH"), "{e}");
        }
    }
}
