//! What a token may do. Each scope is the least power one kind of caller needs: a device writes
//! (perhaps only its own sensors), a dashboard reads, an operator administers. No scope implies
//! another, so a leaked device token reads nothing and a leaked dashboard token writes nothing.

use std::{fmt, str::FromStr};

/// One power a token holds, written `write`, `write:<sensor-id prefix>`, `read` or `admin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Writing readings: of every sensor (`None`), or only of sensors whose id starts with the
    /// prefix.
    Write(Option<String>),
    /// Reading stored measurements and sensors.
    Read,
    /// Changing configuration: tokens now, alert rules later.
    Admin,
}

/// A scope without its prefix: what an endpoint requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Write,
    Read,
    Admin,
}

impl Scope {
    fn grants(&self, need: Need) -> bool {
        matches!(
            (self, need),
            (Scope::Write(_), Need::Write)
                | (Scope::Read, Need::Read)
                | (Scope::Admin, Need::Admin)
        )
    }
}

/// The scopes of one token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(pub Vec<Scope>);

impl Scopes {
    pub fn grant(&self, need: Need) -> bool {
        self.0.iter().any(|scope| scope.grants(need))
    }

    /// Whether a reading of `sensor_id` may be written: some write scope has no prefix, or a
    /// prefix the id starts with.
    pub fn may_write(&self, sensor_id: &str) -> bool {
        self.0.iter().any(|scope| match scope {
            Scope::Write(None) => true,
            Scope::Write(Some(prefix)) => sensor_id.starts_with(prefix.as_str()),
            _ => false,
        })
    }

    /// The prefixes writes are limited to, for messages; empty when some write scope has none.
    pub fn write_prefixes(&self) -> Vec<&str> {
        if self.may_write_all() {
            return Vec::new();
        }
        self.0
            .iter()
            .filter_map(|scope| match scope {
                Scope::Write(Some(prefix)) => Some(prefix.as_str()),
                _ => None,
            })
            .collect()
    }

    fn may_write_all(&self) -> bool {
        self.0.contains(&Scope::Write(None))
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Need::Write => "write",
            Need::Read => "read",
            Need::Admin => "admin",
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Write(None) => f.write_str("write"),
            Scope::Write(Some(prefix)) => write!(f, "write:{prefix}"),
            Scope::Read => f.write_str("read"),
            Scope::Admin => f.write_str("admin"),
        }
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(Scope::to_string).collect();
        f.write_str(&names.join(" "))
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            None if text == "write" => Ok(Scope::Write(None)),
            None if text == "read" => Ok(Scope::Read),
            None if text == "admin" => Ok(Scope::Admin),
            Some(("write", prefix)) if crate::reading::is_valid_sensor_id(prefix) => {
                Ok(Scope::Write(Some(prefix.to_owned())))
            }
            Some(("write", prefix)) => Err(format!(
                "scope `{text}`: the prefix `{prefix}` is not the start of a valid sensor id \
                 (1-64 of A-Z a-z 0-9 . _ : -)"
            )),
            _ => Err(format!(
                "scope `{text}` is unknown: use write, write:<sensor-id prefix>, read or admin"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(texts: &[&str]) -> Scopes {
        Scopes(texts.iter().map(|t| t.parse().unwrap()).collect())
    }

    #[test]
    fn scopes_parse_and_print_the_same() {
        for text in ["write", "write:kitchen-", "read", "admin"] {
            assert_eq!(text.parse::<Scope>().unwrap().to_string(), text);
        }
        assert!(
            "owner"
                .parse::<Scope>()
                .unwrap_err()
                .contains("`owner` is unknown")
        );
        assert!(
            "write:"
                .parse::<Scope>()
                .unwrap_err()
                .contains("not the start")
        );
        assert!(
            "write:a/b"
                .parse::<Scope>()
                .unwrap_err()
                .contains("not the start")
        );
    }

    #[test]
    fn no_scope_implies_another() {
        let writer = scopes(&["write"]);
        assert!(writer.grant(Need::Write));
        assert!(!writer.grant(Need::Read) && !writer.grant(Need::Admin));
        let admin = scopes(&["admin"]);
        assert!(admin.grant(Need::Admin));
        assert!(!admin.grant(Need::Read) && !admin.grant(Need::Write));
        assert!(!scopes(&["read"]).may_write("anything"));
    }

    #[test]
    fn a_prefix_limits_writes_to_its_sensors() {
        let device = scopes(&["write:kitchen-", "write:hall-"]);
        assert!(device.may_write("kitchen-1") && device.may_write("hall-2"));
        assert!(!device.may_write("garage-1") && !device.may_write("kitchen"));
        assert_eq!(device.write_prefixes(), ["kitchen-", "hall-"]);
        let both = scopes(&["write:kitchen-", "write"]);
        assert!(both.may_write("garage-1"));
        assert!(both.write_prefixes().is_empty());
    }
}
